// The technician's page: the profiles I may request, the request form, and my elevations with a
// live countdown, extend, revoke and cancel.
import { ApiFailure, api, requireSession } from './api.ts';
import {
  byId,
  clearError,
  field,
  formatRemaining,
  formatTime,
  h,
  homeOf,
  openCodeDialog,
  setUpHeader,
  showError,
  takeCode,
} from './dom.ts';
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
if (!me.roles.includes('technician')) {
  location.replace(homeOf(me));
  await new Promise(() => {});
}
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
    h(
      'p',
      {},
      `Groups: ${p.groups.join(', ')}. Up to ${Math.floor(p.maxDurationSeconds / 60)} minutes. `,
      p.approvalsRequired > 0 ? `Needs ${p.approvalsRequired} approval${p.approvalsRequired > 1 ? 's' : ''}.` : 'Granted at once.',
    ),
  );
}

async function loadProfiles() {
  profiles = (await api<{ profiles: RequestableProfile[] }>('GET', '/api/v1/me/profiles')).profiles;
  select.replaceChildren(...profiles.map((p) => h('option', { value: keyOf(p) }, `${p.tenant.displayName} — ${p.name}`)));
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
        : `Requested: ${p.name} in ${p.tenant.displayName} waits for approval${
            p.approvalsRequired === 0 && e.risk
              ? ` because it looks unusual (risk ${e.risk.score} of 100: ${e.risk.reasons.map((r) => r.detail).join('; ')})`
              : ''
          }.`;
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
      byId('list-status').textContent =
        `${e.profile} in ${e.tenantId}: ${action === 'revoke' ? 'revoked' : e.state === 'active' ? 'extension request withdrawn' : 'cancelled'}.`;
    } catch (error) {
      byId('list-status').textContent = `Not done: ${error instanceof ApiFailure ? error.message : 'something went wrong'}`;
    }
    await loadElevations();
  });
  return button;
}

/** Why an extension was refused, in the page's words (the API's details name the limit). */
function extensionRefusal(error: ApiFailure): ApiFailure {
  const latest = error.details?.latestEndsAt;
  const total = error.details?.maxTotalDurationSeconds;
  if (typeof latest === 'string' && typeof total === 'number') {
    const message = `Beyond the profile’s maximum: a grant of this profile runs ${Math.round(total / 60)} minutes at most in all, so this one can run until ${formatTime(latest)} at the latest.`;
    return new ApiFailure(error.status, error.code, message, { field: 'minutes' });
  }
  return error;
}

function extendButton(e: Elevation) {
  const name = `${e.profile} in ${e.tenantId}`;
  const button = h('button', { type: 'button', 'data-action': 'extend', 'aria-label': `Extend ${name}` }, 'Extend');
  button.addEventListener('click', () =>
    openCodeDialog({
      title: `Extend ${name}`,
      warning: `It now ends ${formatTime(e.endsAt)}.`,
      confirmLabel: 'Extend',
      fields: [
        field(`extend-minutes-${e.id}`, 'Extend by (minutes)', {
          name: 'minutes',
          type: 'number',
          min: '1',
          step: '1',
          value: '15',
          required: '',
        }),
      ],
      statusEl: byId('list-status'),
      async action(values, code) {
        let after: Elevation;
        try {
          after = await api<Elevation>('POST', `/api/v1/elevations/${encodeURIComponent(e.id)}/extend`, {
            durationSeconds: Math.round(Number(values.minutes) * 60),
            code,
          });
        } catch (error) {
          throw error instanceof ApiFailure && error.code === 'extension_refused' ? extensionRefusal(error) : error;
        }
        await loadElevations();
        return after.pendingExtension
          ? `${name}: the extension by ${Math.round(after.pendingExtension.seconds / 60)} minutes is waiting for approval; the grant still ends ${formatTime(after.endsAt)}.`
          : `${name}: extended; it now ends ${formatTime(after.endsAt)}.`;
      },
    }),
  );
  return button;
}

function timeCell(e: Elevation) {
  if (e.state === 'active' && e.endsAt) {
    return h(
      'td',
      {},
      h('span', { class: 'countdown', 'data-ends-at': e.endsAt }, ''),
      e.pendingExtension
        ? h('p', { class: 'hint' }, `Extension by ${Math.round(e.pendingExtension.seconds / 60)} minutes: waiting for approval.`)
        : null,
    );
  }
  if (e.state === 'pending_approval')
    return h('td', {}, `${e.approval.decisions.filter((d) => d.decision === 'approve').length} of ${e.approval.required} approvals`);
  return h('td', {}, formatTime(e.endedAt));
}

function actionsCell(e: Elevation) {
  if (e.state === 'active') {
    return h(
      'td',
      { class: 'actions' },
      e.pendingExtension ? actionButton('Cancel extension', e, 'cancel') : extendButton(e),
      actionButton('Revoke', e, 'revoke'),
    );
  }
  return h('td', {}, e.state === 'pending_approval' ? actionButton('Cancel', e, 'cancel') : '');
}

async function loadElevations() {
  const { elevations } = await api<{ elevations: Elevation[] }>(
    'GET',
    `/api/v1/elevations?technician=${encodeURIComponent(me.id)}&limit=50`,
  );
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
        timeCell(e),
        actionsCell(e),
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
