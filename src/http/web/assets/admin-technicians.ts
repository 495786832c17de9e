// Admin: technicians with their roles, status (suspend, reactivate), MFA (reset), the accounts
// linked to them in each tenant (link, unlink), the technician kill switch, and a form to add one.
import { api, requireSession } from './api.ts';
import { byId, clearError, failureText, h, setUpHeader, showError } from './dom.ts';
import { killTechnician, loadTenants, type Technician, type Tenant } from './admin.ts';

interface Account {
  id: string;
  tenantId: string;
  technicianId: string;
  dn: string;
  samAccountName: string;
}

const allRoles = ['technician', 'approver', 'auditor', 'admin'];
const me = await requireSession();
setUpHeader(me);
const status = byId('technicians-status');
let tenants: Tenant[] = [];

async function run(work: () => Promise<string>) {
  try {
    status.textContent = await work();
  } catch (error) {
    status.textContent = failureText(error);
  }
  await load();
}

function rolesForm(t: Technician) {
  const form = h(
    'form',
    { class: 'roles', 'aria-label': `Roles of ${t.username}` },
    h('div', { role: 'alert', class: 'error' }),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Roles'),
      ...allRoles.map((r) =>
        h(
          'label',
          { class: 'check' },
          h('input', { type: 'checkbox', name: 'roles', value: r, ...(t.roles.includes(r) ? { checked: '' } : {}) }),
          ` ${r}`,
        ),
      ),
    ),
    h('label', { for: `approver-tenants-${t.id}` }, 'Approves for tenants (ids, comma-separated)'),
    h('input', { id: `approver-tenants-${t.id}`, name: 'approverTenants', value: t.approverTenants.join(', ') }),
    h('button', { type: 'submit', class: 'secondary' }, `Save roles of ${t.username}`),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(form);
    const data = new FormData(form);
    const approverTenants = String(data.get('approverTenants'))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    try {
      await api('PATCH', `/api/v1/technicians/${encodeURIComponent(t.id)}`, { roles: data.getAll('roles').map(String), approverTenants });
      status.textContent = `${t.username}: roles saved.`;
      await load();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

function card(t: Technician, accounts: Account[]) {
  const suspended = t.status === 'suspended';
  const toggle = h('button', { type: 'button', class: 'secondary' }, suspended ? `Reactivate ${t.username}` : `Suspend ${t.username}`);
  toggle.addEventListener('click', () => {
    if (
      !suspended &&
      !confirm(
        `Suspend ${t.username}? Their sessions end at once; their grants run on until they end (use the kill switch to end them now).`,
      )
    )
      return;
    void run(async () => {
      await api('PATCH', `/api/v1/technicians/${encodeURIComponent(t.id)}`, { status: suspended ? 'active' : 'suspended' });
      return `${t.username}: ${suspended ? 'active again' : 'suspended'}.`;
    });
  });
  const reset = h('button', { type: 'button', class: 'secondary' }, `Reset MFA of ${t.username}`);
  reset.addEventListener('click', () => {
    if (!confirm(`Reset the authenticator of ${t.username}? They enrol a new one at their next login.`)) return;
    void run(async () => {
      await api('POST', `/api/v1/technicians/${encodeURIComponent(t.id)}/mfa-reset`);
      return `${t.username}: MFA reset; they enrol again at the next login.`;
    });
  });
  const kill = h('button', { type: 'button', class: 'danger', 'aria-label': `Kill switch for ${t.username}` }, 'Kill switch…');
  kill.addEventListener('click', () => killTechnician(t, status, load));
  const accountItems = accounts.map((a) => {
    const unlink = h(
      'button',
      { type: 'button', class: 'secondary small', 'aria-label': `Unlink ${a.samAccountName} in ${a.tenantId}` },
      'Unlink',
    );
    unlink.addEventListener(
      'click',
      () =>
        void run(async () => {
          await api('DELETE', `/api/v1/tenants/${encodeURIComponent(a.tenantId)}/accounts/${encodeURIComponent(a.id)}`);
          return `${a.samAccountName} in ${a.tenantId}: unlinked.`;
        }),
    );
    return h('li', {}, `${a.tenantId}: ${a.samAccountName} `, h('span', { class: 'hint mono' }, a.dn), ' ', unlink);
  });
  return h(
    'article',
    { class: 'request', 'data-technician': t.id },
    h('h2', {}, `${t.displayName} (${t.username})`),
    h(
      'dl',
      {},
      h('dt', {}, 'Id'),
      h('dd', { class: 'mono' }, t.id),
      h('dt', {}, 'Email'),
      h('dd', {}, t.email),
      h('dt', {}, 'Status'),
      h('dd', { class: `state state-${t.status}` }, suspended ? 'Suspended' : 'Active'),
      h('dt', {}, 'Signs in with'),
      h('dd', {}, t.identitySource === 'local' ? 'a Stint password' : 'the MSP directory (LDAP)'),
      h('dt', {}, 'MFA'),
      h(
        'dd',
        {},
        t.mfaEnrolled ? 'Enrolled' : 'Not enrolled (enrols at next login)',
        t.mfaLockedUntil ? `; locked until ${new Date(t.mfaLockedUntil).toLocaleString()}` : '',
      ),
      h('dt', {}, 'Linked accounts'),
      h('dd', {}, accountItems.length ? h('ul', {}, ...accountItems) : 'None'),
    ),
    rolesForm(t),
    h('div', { class: 'buttons' }, toggle, reset, kill),
  );
}

async function load() {
  const [{ technicians }, found] = await Promise.all([
    api<{ technicians: Technician[] }>('GET', '/api/v1/technicians'),
    loadTenants('open'),
  ]);
  tenants = found;
  const accounts = (
    await Promise.all(tenants.map((t) => api<{ accounts: Account[] }>('GET', `/api/v1/tenants/${encodeURIComponent(t.id)}/accounts`)))
  ).flatMap((a) => a.accounts);
  byId('technicians').replaceChildren(
    ...technicians.map((t) =>
      card(
        t,
        accounts.filter((a) => a.technicianId === t.id),
      ),
    ),
  );
  const keep = (select: HTMLSelectElement, options: HTMLOptionElement[]) => {
    const chosen = select.value;
    select.replaceChildren(...options);
    if (chosen) select.value = chosen;
  };
  keep(
    byId<HTMLSelectElement>('link-technician'),
    technicians.map((t) => h('option', { value: t.id }, `${t.displayName} (${t.username})`)),
  );
  keep(
    byId<HTMLSelectElement>('link-tenant'),
    tenants.map((t) => h('option', { value: t.id }, `${t.displayName} (${t.id})`)),
  );
  const approves = byId('new-approver-tenants');
  const ticked = new Set(Array.from(approves.querySelectorAll<HTMLInputElement>('input:checked'), (box) => box.value));
  approves.replaceChildren(
    h('legend', {}, 'Approves for tenants'),
    ...(tenants.length
      ? tenants.map((t) =>
          h(
            'label',
            { class: 'check' },
            h('input', { type: 'checkbox', name: 'approverTenants', value: t.id, ...(ticked.has(t.id) ? { checked: '' } : {}) }),
            ` ${t.displayName} (${t.id})`,
          ),
        )
      : [h('p', { class: 'hint' }, 'No tenants yet.')]),
  );
}

const createForm = byId<HTMLFormElement>('create-form');
const identity = byId<HTMLSelectElement>('new-identity');
// A directory sign-in has no Stint password.
identity.addEventListener('change', () => {
  const password = byId<HTMLInputElement>('new-password');
  password.disabled = identity.value !== 'local';
  if (password.disabled) password.value = '';
});
createForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(createForm);
  const data = new FormData(createForm);
  const text = (name: string) => String(data.get(name) ?? '').trim();
  const body: Record<string, unknown> = {
    username: text('username'),
    displayName: text('displayName'),
    email: text('email'),
    roles: data.getAll('roles').map(String),
    approverTenants: data.getAll('approverTenants').map(String),
    identitySource: text('identitySource'),
  };
  if (text('slackUserId')) body.slackUserId = text('slackUserId');
  if (body.identitySource === 'local') body.password = String(data.get('password') ?? '');
  try {
    const created = await api<Technician>('POST', '/api/v1/technicians', body);
    createForm.reset();
    status.textContent = `Added ${created.displayName} (${created.username}) as ${created.roles.join(', ')}${created.approverTenants.length ? `, approving for ${created.approverTenants.join(', ')}` : ''}. They enrol their authenticator at first login; link their account in a tenant below.`;
    await load();
    byId<HTMLSelectElement>('link-technician').value = created.id;
  } catch (error) {
    showError(createForm, error);
  }
});

const linkForm = byId<HTMLFormElement>('link-form');
linkForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(linkForm);
  const data = new FormData(linkForm);
  const tenant = String(data.get('tenant'));
  try {
    const a = await api<Account>('POST', `/api/v1/tenants/${encodeURIComponent(tenant)}/accounts`, {
      technicianId: String(data.get('technicianId')),
      account: String(data.get('account')).trim(),
    });
    status.textContent = `Linked ${a.samAccountName} in ${tenant}.`;
    (linkForm.elements.namedItem('account') as HTMLInputElement).value = '';
    await load();
  } catch (error) {
    showError(linkForm, error);
  }
});

await load();
