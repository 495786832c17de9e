// Admin: the tenants, a check of each one's directory connection (LDAPS, bind, base DN) with the
// result in words, a form to add or edit a tenant (the server checks the connection before it saves;
// the bind password is write-only), each tenant's own protected groups, the tenant kill switch,
// lifting its freeze, and archiving.
import { ApiFailure, api, requireSession } from './api.ts';
import { byId, clearError, h, setUpHeader, showError } from './dom.ts';
import { archiveTenant, killTenant, loadTenants, unfreezeTenant, type Tenant } from './admin.ts';

const me = await requireSession();
setUpHeader(me);
const status = byId('tenants-status');

function row(t: Tenant) {
  const result = h('span', { class: 'check-result', 'aria-live': 'polite' }, 'Not checked yet');
  const check = h('button', { type: 'button', class: 'secondary', 'aria-label': `Check the connection of ${t.id}` }, 'Check connection');
  check.addEventListener('click', async () => {
    check.disabled = true;
    result.textContent = 'Checking…';
    result.dataset.result = '';
    try {
      const ok = await api<{ baseDn: string; latencyMs: number } | null>('POST', `/api/v1/tenants/${encodeURIComponent(t.id)}/check`);
      result.dataset.result = 'ok';
      result.textContent = `Connected: bound and found ${ok?.baseDn ?? t.directory.baseDn}${ok ? ` in ${Math.round(ok.latencyMs)} ms` : ''}.`;
    } catch (error) {
      result.dataset.result = 'failed';
      result.textContent = `Failed: ${error instanceof ApiFailure ? `${error.message} (${error.code})` : 'no answer'}`;
    } finally {
      check.disabled = false;
    }
  });
  const edit = h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit ${t.id}` }, 'Edit');
  edit.addEventListener('click', () => startEdit(t));
  const guard = h('button', { type: 'button', class: 'secondary', 'aria-label': `Protected groups of ${t.id}` }, 'Protected groups');
  guard.addEventListener('click', () => void showProtected(t));
  const kill = h('button', { type: 'button', class: 'danger', 'aria-label': `Kill switch for ${t.id}` }, 'Kill switch…');
  kill.addEventListener('click', () => killTenant(t, status, load));
  const unfreeze = h('button', { type: 'button', class: 'secondary', 'aria-label': `Lift the freeze of ${t.id}` }, 'Lift freeze…');
  unfreeze.addEventListener('click', () => unfreezeTenant(t, status, load));
  const archive = h('button', { type: 'button', class: 'danger', 'aria-label': `Archive ${t.id}` }, 'Archive…');
  archive.addEventListener('click', () => archiveTenant(t, status, load));
  const state = t.archived
    ? h('span', { class: 'tenant-state', 'data-state': 'archived' }, `Archived ${new Date(t.archived.at).toLocaleString()}`)
    : t.frozen
      ? h(
          'span',
          { class: 'tenant-state', 'data-state': 'frozen' },
          `Frozen by its kill switch ${new Date(t.frozen.at).toLocaleString()}${t.frozen.reason ? `: ${t.frozen.reason}` : ''}`,
        )
      : null;
  // An archived tenant is kept for the audit only: nothing to check, edit or end any more.
  const actions = t.archived ? [] : [check, edit, guard, ...(t.frozen ? [unfreeze] : [kill]), archive];
  return h(
    'tr',
    { 'data-tenant': t.id, ...(t.archived ? { 'data-archived': '' } : t.frozen ? { 'data-frozen': '' } : {}) },
    h('th', { scope: 'row' }, t.displayName, h('br', {}), h('span', { class: 'hint' }, t.id), ...(state ? [h('br', {}), state] : [])),
    h('td', {}, t.directory.url, h('br', {}), h('span', { class: 'hint mono' }, t.directory.baseDn)),
    h('td', {}, t.timeZone),
    h('td', {}, result),
    h('td', { class: 'actions' }, ...actions),
  );
}

async function load() {
  const tenants = await loadTenants();
  byId('no-tenants').hidden = tenants.length > 0;
  byId('tenants').replaceChildren(...tenants.map(row));
}

interface ProtectedGroup {
  guid: string;
  sid: string;
  dn: string;
  name: string;
  addedAt: string;
}

const protectedSection = byId('protected');
const protectedForm = byId<HTMLFormElement>('protected-form');
const protectedStatus = byId('protected-status');
/** The tenant whose protected groups are shown. */
let guarding: Tenant | null = null;

async function loadProtected(t: Tenant) {
  const { groups } = await api<{ groups: ProtectedGroup[] }>('GET', `/api/v1/tenants/${encodeURIComponent(t.id)}/protected-groups`);
  byId('no-protected').hidden = groups.length > 0;
  byId('protected-list').replaceChildren(
    ...groups.map((g) => {
      const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Stop protecting ${g.name}` }, 'Stop protecting');
      remove.addEventListener('click', async () => {
        remove.disabled = true;
        try {
          await api('DELETE', `/api/v1/tenants/${encodeURIComponent(t.id)}/protected-groups/${encodeURIComponent(g.guid)}`);
          protectedStatus.textContent = `${g.name} is no longer protected in ${t.id}.`;
          await loadProtected(t);
        } catch (error) {
          protectedStatus.textContent = `Not changed. ${error instanceof ApiFailure ? `${error.message} (${error.code})` : 'No answer.'}`;
          remove.disabled = false;
        }
      });
      return h('li', { 'data-guid': g.guid }, h('strong', {}, g.name), ' ', h('span', { class: 'hint mono' }, g.dn), ' ', remove);
    }),
  );
}

async function showProtected(t: Tenant) {
  guarding = t;
  clearError(protectedForm);
  protectedForm.reset();
  protectedStatus.textContent = '';
  byId('protected-title').textContent = `Protected groups of ${t.displayName} (${t.id})`;
  protectedSection.hidden = false;
  await loadProtected(t);
  byId('protected-title').focus();
}

byId('protected-close').addEventListener('click', () => {
  guarding = null;
  protectedSection.hidden = true;
});

protectedForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(protectedForm);
  const t = guarding;
  if (!t) return;
  const group = String(new FormData(protectedForm).get('group') ?? '').trim();
  try {
    const added = await api<ProtectedGroup>('POST', `/api/v1/tenants/${encodeURIComponent(t.id)}/protected-groups`, { group });
    protectedForm.reset();
    protectedStatus.textContent = `${added.name} is protected in ${t.id} from now on.`;
    await loadProtected(t);
  } catch (error) {
    showError(protectedForm, error);
  }
});

const form = byId<HTMLFormElement>('tenant-form');
const checkResult = byId('tenant-check');
/** The tenant being edited (null: the form adds one). */
let editing: Tenant | null = null;
const input = (name: string) => form.elements.namedItem(name) as HTMLInputElement;

function connectionText(c: { baseDn: string; latencyMs: number } | null): string {
  return c
    ? `Connection checked: LDAPS verified, bound, and found ${c.baseDn} in ${Math.round(c.latencyMs)} ms.`
    : 'The connection was not changed, so it was not checked again.';
}

function startEdit(t: Tenant) {
  editing = t;
  clearError(form);
  checkResult.textContent = '';
  delete checkResult.dataset.result;
  input('id').value = t.id;
  input('id').readOnly = true;
  input('displayName').value = t.displayName;
  input('timeZone').value = t.timeZone;
  input('driftMode').value = t.driftMode;
  input('slackChannel').value = t.slackChannel ?? '';
  input('keepAccountsDisabled').checked = t.keepAccountsDisabled;
  input('url').value = t.directory.url;
  input('bindDn').value = t.directory.bindDn;
  input('bindPassword').value = '';
  input('baseDn').value = t.directory.baseDn;
  input('caCertificate').value = t.directory.caCertificate;
  byId('tenant-form-title').textContent = `Edit tenant ${t.id}`;
  byId('tenant-submit').textContent = 'Save tenant';
  byId('tenant-cancel').hidden = false;
  input('displayName').focus();
}

function stopEdit() {
  editing = null;
  form.reset();
  input('id').readOnly = false;
  byId('tenant-form-title').textContent = 'Add a tenant';
  byId('tenant-submit').textContent = 'Check and add tenant';
  byId('tenant-cancel').hidden = true;
}

byId('tenant-cancel').addEventListener('click', () => {
  stopEdit();
  clearError(form);
});

/** What the form says, as the API takes it; on edit only what differs from the tenant, the password only when typed. */
function bodyOf(t: Tenant | null): Record<string, unknown> {
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? '').trim();
  const fields: Record<string, unknown> = {
    displayName: text('displayName'),
    timeZone: text('timeZone'),
    driftMode: text('driftMode'),
    slackChannel: text('slackChannel') || null,
    keepAccountsDisabled: data.has('keepAccountsDisabled'),
  };
  const directory: Record<string, string> = {
    url: text('url'),
    bindDn: text('bindDn'),
    baseDn: text('baseDn'),
    caCertificate: text('caCertificate'),
  };
  // Passwords may begin or end with spaces: taken as typed.
  const password = String(data.get('bindPassword') ?? '');
  if (!t) return { id: text('id'), ...fields, directory: { ...directory, bindPassword: password } };
  const before: Record<string, unknown> = {
    displayName: t.displayName,
    timeZone: t.timeZone,
    driftMode: t.driftMode,
    slackChannel: t.slackChannel,
    keepAccountsDisabled: t.keepAccountsDisabled,
  };
  const changed: Record<string, unknown> = Object.fromEntries(Object.entries(fields).filter(([k, v]) => v !== before[k]));
  const beforeDirectory: Record<string, string> = { ...t.directory, caCertificate: t.directory.caCertificate.trim() };
  const changedDirectory: Record<string, string> = Object.fromEntries(
    Object.entries(directory).filter(([k, v]) => v !== beforeDirectory[k]),
  );
  if (password) changedDirectory.bindPassword = password;
  if (Object.keys(changedDirectory).length > 0) changed.directory = changedDirectory;
  return changed;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(form);
  const was = editing;
  const body = bodyOf(was);
  if (was && Object.keys(body).length === 0) {
    checkResult.textContent = 'Nothing changed.';
    return;
  }
  const submit = byId<HTMLButtonElement>('tenant-submit');
  submit.disabled = true;
  checkResult.dataset.result = '';
  checkResult.textContent = body.directory ? 'Checking the connection…' : 'Saving…';
  try {
    const answer = was
      ? await api<{ tenant: Tenant; connection: { baseDn: string; latencyMs: number } | null }>(
          'PATCH',
          `/api/v1/tenants/${encodeURIComponent(was.id)}`,
          body,
        )
      : await api<{ tenant: Tenant; connection: { baseDn: string; latencyMs: number } | null }>('POST', '/api/v1/tenants', body);
    stopEdit();
    checkResult.dataset.result = 'ok';
    checkResult.textContent = `${was ? 'Saved' : 'Added'} ${answer.tenant.displayName} (${answer.tenant.id}). ${connectionText(answer.connection)}`;
    await load();
  } catch (error) {
    checkResult.dataset.result = 'failed';
    checkResult.textContent = `Not saved. ${error instanceof ApiFailure ? `${error.message} (${error.code})` : 'No answer.'}`;
    showError(form, error);
  } finally {
    submit.disabled = false;
  }
});

await load();
