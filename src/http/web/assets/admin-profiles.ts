// Admin: a tenant's access profiles, and a form to create one. The groups are looked up in the
// tenant's directory; a protected group is refused (422 group_protected) and the page shows why,
// with the nesting path from the group given up to the protected group it sits in.
import { ApiFailure, api, requireSession } from './api.ts';
import { byId, clearError, h, setUpHeader, showError } from './dom.ts';
import { loadTenants } from './admin.ts';

interface Profile {
  id: string;
  name: string;
  description: string;
  groups: Array<{ dn: string; name: string }>;
  defaultDurationSeconds: number;
  maxDurationSeconds: number;
  maxTotalDurationSeconds: number;
  approval: { required: number; reapproveExtensions: boolean };
  status: 'active' | 'suspended';
  suspendedReason: string | null;
}

const me = await requireSession();
setUpHeader(me);
const tenantSelect = byId<HTMLSelectElement>('tenant');
const form = byId<HTMLFormElement>('profile-form');
const finding = byId('protected-finding');
const minutes = (s: number) => `${Math.round(s / 60)} min`;

async function loadProfiles() {
  const { profiles } = await api<{ profiles: Profile[] }>('GET', `/api/v1/tenants/${encodeURIComponent(tenantSelect.value)}/profiles`);
  byId('no-profiles').hidden = profiles.length > 0;
  byId('profiles').replaceChildren(
    ...profiles.map((p) =>
      h(
        'tr',
        { 'data-profile': p.name },
        h('th', { scope: 'row' }, p.name, p.description ? h('p', { class: 'hint' }, p.description) : null),
        h('td', {}, h('ul', { class: 'plain' }, ...p.groups.map((g) => h('li', { title: g.dn }, g.name)))),
        h('td', {}, `${minutes(p.defaultDurationSeconds)} by default, up to ${minutes(p.maxDurationSeconds)} (${minutes(p.maxTotalDurationSeconds)} in all)`),
        h('td', {}, p.approval.required === 0 ? 'None' : `${p.approval.required}${p.approval.reapproveExtensions ? ', again for extensions' : ''}`),
        h('td', { class: `state state-${p.status}` }, p.status === 'active' ? 'Active' : `Suspended: ${p.suspendedReason ?? ''}`),
      ),
    ),
  );
}

/** The refusal of a protected group, in full: what, why, and how it is nested. */
function showProtected(error: ApiFailure) {
  const d = error.details ?? {};
  const path = Array.isArray(d.path) ? d.path.map(String) : [];
  finding.replaceChildren(
    h('strong', {}, 'Refused: a protected group. '),
    error.message,
    h('dl', {},
      h('dt', {}, 'Group'), h('dd', { class: 'mono' }, String(d.group ?? '')),
      h('dt', {}, 'Protected group'), h('dd', { class: 'mono' }, String(d.protectedGroup ?? '')),
      h('dt', {}, 'Reason'), h('dd', {}, String(d.reason ?? ''))),
    ...(path.length > 1
      ? [h('p', {}, 'Nesting path (each group is a member of the next):'), h('ol', { class: 'nesting' }, ...path.map((dn) => h('li', { class: 'mono' }, dn)))]
      : []),
  );
  finding.hidden = false;
  const groups = form.elements.namedItem('groups') as HTMLTextAreaElement;
  groups.setAttribute('aria-invalid', 'true');
  groups.setAttribute('aria-describedby', 'protected-finding groups-hint');
  groups.focus();
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(form);
  finding.hidden = true;
  finding.textContent = '';
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? '').trim();
  const number = (name: string) => Math.round(Number(text(name)));
  const body: Record<string, unknown> = {
    name: text('name'),
    groups: text('groups').split('\n').map((s) => s.trim()).filter(Boolean),
    eligibleRoles: data.getAll('eligibleRoles').map(String),
    defaultDurationSeconds: number('defaultMinutes') * 60,
    maxDurationSeconds: number('maxMinutes') * 60,
    approval: { required: number('approvals'), reapproveExtensions: data.has('reapproveExtensions') },
    requireJustification: data.has('requireJustification'),
  };
  if (text('description')) body.description = text('description');
  if (text('totalMinutes')) body.maxTotalDurationSeconds = number('totalMinutes') * 60;
  if (text('ticketPattern')) body.ticketPattern = text('ticketPattern');
  try {
    const created = await api<Profile>('POST', `/api/v1/tenants/${encodeURIComponent(tenantSelect.value)}/profiles`, body);
    byId('profiles-status').textContent = `Created ${created.name} in ${tenantSelect.value}, granting ${created.groups.map((g) => g.name).join(', ')}.`;
    form.reset();
    await loadProfiles();
  } catch (error) {
    if (error instanceof ApiFailure && error.code === 'group_protected') showProtected(error);
    else showError(form, error);
  }
});

tenantSelect.addEventListener('change', () => void loadProfiles());
const tenants = await loadTenants();
tenantSelect.replaceChildren(...tenants.map((t) => h('option', { value: t.id }, `${t.displayName} (${t.id})`)));
if (tenants.length > 0) await loadProfiles();
