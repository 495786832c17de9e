// The technician's page: the profiles I may request, the request form, and my elevations with a
// live countdown, revoke and cancel.
import { ApiFailure, api, requireSession } from './api.ts';
import { byId, clearError, formatRemaining, formatTime, h, setUpHeader, showError, takeCode } from './dom.ts';
import { stateName, type Elevation } from './elevations.ts';

interface RequestableProfile {
  tenant: { id: string; displayName: string; timeZone: string };
  name: string;
  description: string;
  groups: string[];
  defaultDurationSeconds: number;
  maxDurationSeconds: number;
  requireJustification: boolean;
  ticketPattern: string | null;
  approvalsRequired: number;
}

const me = await requireSession();
setUpHeader(me);

const form = byId<HTMLFormElement>('request-form');
const select = form.elements.namedItem('profile') as HTMLSelectElement;
const minutes = form.elements.namedItem('minutes') as HTMLInputElement;
const justification = form.elements.namedItem('justification') as HTMLTextAreaElement;
const ticket = form.elements.namedItem('ticket') as HTMLInputElement;
const status = byId('request-status');
let profiles: RequestableProfile[] = [];

const keyOf = (p: RequestableProfile) => `${p.tenant.id}/${p.name}`;
const chosen = () => profiles.find((p) => keyOf(p) === select.value);

function describeChoice() {
  const p = chosen();
  const about = byId('profile-about');
  about.textContent = '';
  if (!p) return;
  minutes.max = String(Math.floor(p.maxDurationSeconds / 60));
  minutes.value = String(Math.round(p.defaultDurationSeconds / 60));
  justification.required = p.requireJustification;
  byId('justification-hint').textContent = p.requireJustification ? 'Required for this profile.' : 'Optional.';
  ticket.required = p.ticketPattern !== null;
  byId('ticket-hint').textContent = p.ticketPattern ? `Required; must match ${p.ticketPattern}.` : 'Optional.';
  about.append(
    h('p', {}, p.description || 'No description.'),
    h('p', {}, `Groups: ${p.groups.join(', ')}. Up to ${Math.floor(p.maxDurationSeconds / 60)} minutes. `,
      p.approvalsRequired > 0 ? `Needs ${p.approvalsRequired} approval${p.approvalsRequired > 1 ? 's' : ''}.` : 'Granted at once.'),
  );
}

async function loadProfiles() {
  profiles = (await api<{ profiles: RequestableProfile[] }>('GET', '/api/v1/me/profiles')).profiles;
  select.replaceChildren(
    ...profiles.map((p) => h('option', { value: keyOf(p) }, `${p.tenant.displayName} — ${p.name}`)),
  );
  byId('no-profiles').hidden = profiles.length > 0;
  form.hidden = profiles.length === 0;
  describeChoice();
}

select.addEventListener('change', describeChoice);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(form);
  status.textContent = '';
  const p = chosen();
  if (!p) return;
  const body: Record<string, unknown> = { tenant: p.tenant.id, profile: p.name, durationSeconds: Math.round(Number(minutes.value) * 60) };
  if (justification.value.trim()) body.justification = justification.value.trim();
  if (ticket.value.trim()) body.ticket = ticket.value.trim();
  try {
    const e = await api<Elevation>('POST', '/api/v1/elevations', { ...body, code: takeCode(form) });
    status.textContent =
      e.state === 'active'
        ? `Granted: ${p.name} in ${p.tenant.displayName} until ${formatTime(e.endsAt)}${e.clampedToWindowEnd ? ' (cut short to the end of the profile’s window)' : ''}.`
        : `Requested: ${p.name} in ${p.tenant.displayName} waits for approval.`;
    justification.value = '';
    ticket.value = '';
    await loadElevations();
  } catch (error) {
    showError(form, error);
  }
});

const list = byId('elevations');

function actionButton(label: string, e: Elevation, action: 'revoke' | 'cancel') {
  const button = h('button', { type: 'button', 'data-action': action, 'aria-label': `${label} ${e.profile} in ${e.tenantId}` }, label);
  button.addEventListener('click', async () => {
    button.setAttribute('disabled', '');
    try {
      await api('POST', `/api/v1/elevations/${encodeURIComponent(e.id)}/${action}`);
      byId('list-status').textContent = `${e.profile} in ${e.tenantId}: ${action === 'revoke' ? 'revoked' : 'cancelled'}.`;
    } catch (error) {
      byId('list-status').textContent = `Not done: ${error instanceof ApiFailure ? error.message : 'something went wrong'}`;
    }
    await loadElevations();
  });
  return button;
}

async function loadElevations() {
  const { elevations } = await api<{ elevations: Elevation[] }>('GET', `/api/v1/elevations?technician=${encodeURIComponent(me.id)}&limit=50`);
  byId('no-elevations').hidden = elevations.length > 0;
  list.replaceChildren(
    ...elevations.map((e) =>
      h(
        'tr',
        { 'data-elevation': e.id, 'data-state': e.state },
        h('td', {}, e.tenantId),
        h('td', {}, e.profile),
        h('td', {}, e.groups.map((g) => g.name).join(', ')),
        h('td', { class: `state state-${e.state}` }, stateName(e.state)),
        h(
          'td',
          {},
          e.state === 'active' && e.endsAt
            ? h('span', { class: 'countdown', 'data-ends-at': e.endsAt }, '')
            : e.state === 'pending_approval'
              ? `${e.approval.decisions.filter((d) => d.decision === 'approve').length} of ${e.approval.required} approvals`
              : formatTime(e.endedAt),
        ),
        h(
          'td',
          {},
          e.state === 'active' ? actionButton('Revoke', e, 'revoke') : e.state === 'pending_approval' ? actionButton('Cancel', e, 'cancel') : '',
        ),
      ),
    ),
  );
  tick();
}

let rereading = false;

/** Updates every countdown once a second; when one reaches zero the list is read again. */
function tick() {
  let ended = false;
  for (const el of list.querySelectorAll<HTMLElement>('.countdown')) {
    const left = new Date(el.dataset.endsAt!).getTime() - Date.now();
    el.textContent = `${formatRemaining(left)} left`;
    el.setAttribute('title', `Ends ${formatTime(el.dataset.endsAt!)}`);
    if (left <= 0) ended = true;
  }
  if (ended && !rereading) {
    rereading = true;
    setTimeout(() => void loadElevations().finally(() => (rereading = false)), 5000);
  }
}

setInterval(tick, 1000);
await Promise.all([loadProfiles(), loadElevations()]);
