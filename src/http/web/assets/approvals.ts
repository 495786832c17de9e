// The approver's queue: who asks for what and why; approve or deny, each with a fresh TOTP code.
import { ApiFailure, api, requireSession } from './api.ts';
import { byId, clearError, formatTime, h, setUpHeader, showError, takeCode } from './dom.ts';
import { accountName, type Elevation } from './elevations.ts';

const me = await requireSession();
setUpHeader(me);
const queue = byId('queue');
const status = byId('queue-status');

/** The request's risk score and, in words, what made it up (docs/security-model.md, Risk signals). */
function riskDetails(e: Elevation) {
  if (!e.risk) return h('dd', {}, 'not scored');
  const { score, reasons } = e.risk;
  return h(
    'dd',
    { class: 'risk' },
    `${score} of 100${reasons.length ? '' : ': nothing unusual'}`,
    reasons.length ? h('ul', { class: 'reasons' }, ...reasons.map((r) => h('li', {}, `${r.detail} (+${r.points})`))) : null,
  );
}

function card(e: Elevation, index: number) {
  const round = e.pendingExtension?.round ?? 0;
  const approved = e.approval.decisions.filter((d) => d.decision === 'approve' && d.round === round).length;
  const codeId = `code-${index}`;
  const reasonId = `reason-${index}`;
  const extension = e.pendingExtension;
  const heading = `${extension ? 'Extension: ' : ''}${e.profile} in ${e.tenantId} for ${accountName(e.account)}`;
  const form = h(
    'form',
    { class: 'decision', 'data-elevation': e.id, 'aria-label': `Decide: ${heading}` },
    h('div', { role: 'alert', class: 'error' }),
    h('label', { for: codeId }, 'TOTP code'),
    h('input', {
      id: codeId,
      name: 'code',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      pattern: '[0-9]{6}',
      maxlength: '6',
      required: '',
    }),
    h('label', { for: reasonId }, 'Reason (shown to the requester when denying; optional)'),
    h('input', { id: reasonId, name: 'reason', maxlength: '500' }),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', value: 'approve' }, 'Approve'),
      h('button', { type: 'submit', value: 'deny', class: 'secondary' }, 'Deny'),
    ),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(form);
    const decision = (event.submitter as HTMLButtonElement | null)?.value === 'deny' ? 'deny' : 'approve';
    const reason = (form.elements.namedItem('reason') as HTMLInputElement).value.trim();
    try {
      const after = await api<Elevation>('POST', `/api/v1/elevations/${encodeURIComponent(e.id)}/${decision}`, {
        code: takeCode(form),
        ...(decision === 'deny' && reason ? { reason } : {}),
      });
      const outcome =
        decision === 'deny'
          ? 'denied'
          : extension
            ? after.pendingExtension
              ? 'approval counted'
              : `extension approved; it now ends ${formatTime(after.endsAt)}`
            : after.state === 'active'
              ? 'approved and now active'
              : 'approval counted';
      status.textContent = `${heading}: ${outcome}.`;
      await load();
    } catch (error) {
      showError(form, error);
      if (error instanceof ApiFailure && error.status === 409) await load();
    }
  });
  return h(
    'article',
    { class: 'request' },
    h('h3', {}, heading),
    h(
      'dl',
      {},
      h('dt', {}, 'Requested'),
      h('dd', {}, formatTime(e.requestedAt)),
      h('dt', {}, 'Groups'),
      h('dd', {}, e.groups.map((g) => g.name).join(', ')),
      extension ? h('dt', {}, 'Extend by') : h('dt', {}, 'Duration'),
      h(
        'dd',
        {},
        `${Math.round((extension ? extension.seconds : e.durationSeconds) / 60)} minutes${extension ? ` (it ends ${formatTime(e.endsAt)} now)` : ''}`,
      ),
      h('dt', {}, 'Justification'),
      h('dd', {}, e.justification ?? '—'),
      h('dt', {}, 'Ticket'),
      h('dd', {}, e.ticket ?? '—'),
      h('dt', {}, 'Risk'),
      riskDetails(e),
      h('dt', {}, 'Approvals'),
      h('dd', {}, `${approved} of ${e.approval.required}`),
      h('dt', {}, 'Decide by'),
      h('dd', {}, formatTime(extension ? extension.deadline : e.approval.deadline)),
    ),
    form,
  );
}

async function load() {
  const { elevations } = await api<{ elevations: Elevation[] }>('GET', '/api/v1/approvals');
  byId('empty').hidden = elevations.length > 0;
  queue.replaceChildren(...elevations.map(card));
}

await load();
