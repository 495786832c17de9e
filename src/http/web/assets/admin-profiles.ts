// Admin: a tenant's access profiles; a form to create one or edit one, and delete. Groups are picked
// from a search of the tenant's directory, where a protected group is listed as refused with its
// reason; a protected group given anyway is refused (422 group_protected) and the page shows why,
// with the nesting path from the group given up to the protected group it sits in.
import { ApiFailure, api, requireSession } from './api.ts';
import { byId, clearError, failureText, h, setUpHeader, showError } from './dom.ts';
import { loadTenants } from './admin.ts';

interface Profile {
  id: string;
  name: string;
  description: string;
  groups: Array<{ dn: string; name: string }>;
  eligibleTechnicians: string[];
  eligibleRoles: string[];
  defaultDurationSeconds: number;
  maxDurationSeconds: number;
  maxTotalDurationSeconds: number;
  approval: { required: number; approvers: string[]; timeoutSeconds: number; reapproveExtensions: boolean };
  windows: Array<{ days: number[]; start: string; end: string }>;
  workstations: string[];
  requireJustification: boolean;
  ticketPattern: string | null;
  status: 'active' | 'suspended';
  suspendedReason: string | null;
}

interface GroupChoice {
  dn: string;
  name: string;
  protection: { protectedGroup: string; reason: string; path: string[] } | null;
}

const me = await requireSession();
setUpHeader(me);
const tenantSelect = byId<HTMLSelectElement>('tenant');
const form = byId<HTMLFormElement>('profile-form');
const finding = byId('protected-finding');
const status = byId('profiles-status');
const groupsField = form.elements.namedItem('groups') as HTMLTextAreaElement;
const minutes = (s: number) => `${Math.round(s / 60)} min`;
/** The profile being edited (null: the form creates one). */
let editing: Profile | null = null;
const tenantPath = () => `/api/v1/tenants/${encodeURIComponent(tenantSelect.value)}`;

function actionsOf(p: Profile) {
  const edit = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Edit ${p.name}` }, 'Edit');
  edit.addEventListener('click', () => startEdit(p));
  const remove = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Delete ${p.name}` }, 'Delete');
  remove.addEventListener('click', async () => {
    if (
      !confirm(
        `Delete the profile ${p.name} in ${tenantSelect.value}? Nobody can request it afterwards. (A profile with open elevations is kept.)`,
      )
    )
      return;
    try {
      await api('DELETE', `${tenantPath()}/profiles/${encodeURIComponent(p.id)}`);
      status.textContent = `Deleted ${p.name} in ${tenantSelect.value}.`;
      if (editing?.id === p.id) stopEdit();
    } catch (error) {
      status.textContent = failureText(error);
    }
    await loadProfiles();
  });
  return h('td', { class: 'actions' }, edit, remove);
}

async function loadProfiles() {
  const { profiles } = await api<{ profiles: Profile[] }>('GET', `${tenantPath()}/profiles`);
  byId('no-profiles').hidden = profiles.length > 0;
  byId('profiles').replaceChildren(
    ...profiles.map((p) =>
      h(
        'tr',
        { 'data-profile': p.name },
        h('th', { scope: 'row' }, p.name, p.description ? h('p', { class: 'hint' }, p.description) : null),
        h('td', {}, h('ul', { class: 'plain' }, ...p.groups.map((g) => h('li', { title: g.dn }, g.name)))),
        h(
          'td',
          {},
          `${minutes(p.defaultDurationSeconds)} by default, up to ${minutes(p.maxDurationSeconds)} (${minutes(p.maxTotalDurationSeconds)} in all)`,
        ),
        h(
          'td',
          {},
          p.approval.required === 0 ? 'None' : `${p.approval.required}${p.approval.reapproveExtensions ? ', again for extensions' : ''}`,
        ),
        h('td', { class: `state state-${p.status}` }, p.status === 'active' ? 'Active' : `Suspended: ${p.suspendedReason ?? ''}`),
        actionsOf(p),
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
    h(
      'dl',
      {},
      h('dt', {}, 'Group'),
      h('dd', { class: 'mono' }, String(d.group ?? '')),
      h('dt', {}, 'Protected group'),
      h('dd', { class: 'mono' }, String(d.protectedGroup ?? '')),
      h('dt', {}, 'Reason'),
      h('dd', {}, String(d.reason ?? '')),
    ),
    ...(path.length > 1
      ? [
          h('p', {}, 'Nesting path (each group is a member of the next):'),
          h('ol', { class: 'nesting' }, ...path.map((dn) => h('li', { class: 'mono' }, dn))),
        ]
      : []),
  );
  finding.hidden = false;
  groupsField.setAttribute('aria-invalid', 'true');
  groupsField.setAttribute('aria-describedby', 'protected-finding groups-hint');
  groupsField.focus();
}

const pickedDns = () =>
  groupsField.value
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);

/** One search result: an Add button, or the refusal in words with the nesting path. */
function choice(g: GroupChoice) {
  if (g.protection) {
    const path = g.protection.path;
    return h(
      'li',
      { 'data-group': g.dn, 'data-protected': 'true' },
      h('span', {}, g.name),
      h('span', { class: 'refused' }, `Refused: protected — ${g.protection.reason}`),
      path.length > 1 ? h('span', { class: 'hint' }, `nested: ${path.join(' → ')}`) : null,
      h('span', { class: 'hint mono' }, g.dn),
    );
  }
  const add = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Add ${g.name}` }, 'Add');
  const mark = () => {
    const taken = pickedDns().some((dn) => dn.toLowerCase() === g.dn.toLowerCase());
    add.disabled = taken;
    add.textContent = taken ? 'Added' : 'Add';
  };
  add.addEventListener('click', () => {
    if (!pickedDns().some((dn) => dn.toLowerCase() === g.dn.toLowerCase())) groupsField.value = [...pickedDns(), g.dn].join('\n');
    byId('group-results-status').textContent = `Added ${g.name}.`;
    mark();
  });
  mark();
  return h('li', { 'data-group': g.dn }, h('span', {}, g.name), add, h('span', { class: 'hint mono' }, g.dn));
}

async function searchGroups() {
  const q = (form.elements.namedItem('groupSearch') as HTMLInputElement).value.trim();
  const results = byId('group-results');
  const found = byId('group-results-status');
  found.textContent = 'Searching…';
  try {
    const answer = await api<{ groups: GroupChoice[]; truncated: boolean }>('GET', `${tenantPath()}/groups?${new URLSearchParams({ q })}`);
    results.replaceChildren(...answer.groups.map(choice));
    const refused = answer.groups.filter((g) => g.protection).length;
    found.textContent =
      answer.groups.length === 0
        ? 'No group matches.'
        : `${answer.groups.length} group${answer.groups.length === 1 ? '' : 's'} found${refused ? `, ${refused} refused as protected` : ''}${answer.truncated ? '; there are more: narrow the search' : ''}.`;
  } catch (error) {
    results.replaceChildren();
    found.textContent = failureText(error);
  }
}

byId('group-search-button').addEventListener('click', () => void searchGroups());
// Enter in the search box searches; it must not submit the profile form.
(form.elements.namedItem('groupSearch') as HTMLInputElement).addEventListener('keydown', (event) => {
  if (event.key !== 'Enter') return;
  event.preventDefault();
  void searchGroups();
});

function setField(name: string, value: string) {
  (form.elements.namedItem(name) as HTMLInputElement).value = value;
}

function startEdit(p: Profile) {
  editing = p;
  clearError(form);
  finding.hidden = true;
  setField('name', p.name);
  setField('description', p.description);
  groupsField.value = p.groups.map((g) => g.dn).join('\n');
  for (const box of form.querySelectorAll<HTMLInputElement>('input[name="eligibleRoles"]'))
    box.checked = p.eligibleRoles.includes(box.value);
  setField('defaultMinutes', String(Math.round(p.defaultDurationSeconds / 60)));
  setField('maxMinutes', String(Math.round(p.maxDurationSeconds / 60)));
  setField('totalMinutes', String(Math.round(p.maxTotalDurationSeconds / 60)));
  setField('approvals', String(p.approval.required));
  (form.elements.namedItem('reapproveExtensions') as HTMLInputElement).checked = p.approval.reapproveExtensions;
  (form.elements.namedItem('requireJustification') as HTMLInputElement).checked = p.requireJustification;
  setField('ticketPattern', p.ticketPattern ?? '');
  byId('create-title').textContent = `Edit profile ${p.name}`;
  byId('profile-submit').textContent = 'Save profile';
  byId('cancel-edit').hidden = false;
  (form.elements.namedItem('name') as HTMLInputElement).focus();
}

function stopEdit() {
  editing = null;
  form.reset();
  byId('create-title').textContent = 'Create a profile';
  byId('profile-submit').textContent = 'Create profile';
  byId('cancel-edit').hidden = true;
}

byId('cancel-edit').addEventListener('click', () => {
  stopEdit();
  clearError(form);
  finding.hidden = true;
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(form);
  finding.hidden = true;
  finding.textContent = '';
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? '').trim();
  const number = (name: string) => Math.round(Number(text(name)));
  const was = editing;
  // Durations are edited in minutes; a stored value that is not whole minutes is kept unless changed.
  const seconds = (name: string, before: number | undefined) =>
    before !== undefined && Math.round(before / 60) === number(name) ? before : number(name) * 60;
  const body: Record<string, unknown> = {
    name: text('name'),
    groups: pickedDns(),
    eligibleRoles: data.getAll('eligibleRoles').map(String),
    defaultDurationSeconds: seconds('defaultMinutes', was?.defaultDurationSeconds),
    maxDurationSeconds: seconds('maxMinutes', was?.maxDurationSeconds),
    approval: { required: number('approvals'), reapproveExtensions: data.has('reapproveExtensions') },
    requireJustification: data.has('requireJustification'),
  };
  if (text('description')) body.description = text('description');
  if (text('totalMinutes')) body.maxTotalDurationSeconds = seconds('totalMinutes', was?.maxTotalDurationSeconds);
  if (text('ticketPattern')) body.ticketPattern = text('ticketPattern');
  if (was) {
    // An update replaces the whole profile: what this form does not show is sent back unchanged.
    Object.assign(body, { eligibleTechnicians: was.eligibleTechnicians, windows: was.windows, workstations: was.workstations });
    body.approval = { ...(body.approval as object), approvers: was.approval.approvers, timeoutSeconds: was.approval.timeoutSeconds };
  }
  try {
    const saved = was
      ? await api<Profile>('PATCH', `${tenantPath()}/profiles/${encodeURIComponent(was.id)}`, body)
      : await api<Profile>('POST', `${tenantPath()}/profiles`, body);
    status.textContent = `${was ? 'Saved' : 'Created'} ${saved.name} in ${tenantSelect.value}, granting ${saved.groups.map((g) => g.name).join(', ')}.`;
    stopEdit();
    await loadProfiles();
  } catch (error) {
    if (error instanceof ApiFailure && error.code === 'group_protected') showProtected(error);
    else showError(form, error);
  }
});

tenantSelect.addEventListener('change', () => {
  stopEdit();
  byId('group-results').replaceChildren();
  byId('group-results-status').textContent = '';
  void loadProfiles();
});
const tenants = await loadTenants('open');
tenantSelect.replaceChildren(...tenants.map((t) => h('option', { value: t.id }, `${t.displayName} (${t.id})`)));
if (tenants.length > 0) await loadProfiles();
