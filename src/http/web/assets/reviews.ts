// The access reviews page: the reviews (newest first), one review's findings grouped by severity,
// start a review of a tenant now, sign one off with a fresh TOTP code (auditors), export links.
import { ApiFailure, api, requireSession } from './api.ts';
import { byId, clearError, field, formatTime, h, openCodeDialog, setUpHeader, showError } from './dom.ts';

interface Counts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  info: number;
}

interface Review {
  id: string;
  tenantId: string;
  trigger: 'scheduled' | 'on_demand';
  requestedBy: string | null;
  status: 'queued' | 'running' | 'completed' | 'incomplete';
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: Counts;
  signOff: { by: string; at: string; comment: string | null } | null;
}

interface Finding {
  severity: keyof Counts;
  kind: string;
  subject: string;
  technicianId: string | null;
  summary: string;
  action: string | null;
  details: Record<string, unknown>;
}

const severities: Array<keyof Counts> = ['critical', 'high', 'medium', 'low', 'info'];

const me = await requireSession();
setUpHeader(me);
const status = byId('status');
const startForm = byId<HTMLFormElement>('start-form');
const filterForm = byId<HTMLFormElement>('filter-form');
const signoff = byId<HTMLButtonElement>('signoff');
let current: Review | null = null;

const statusText = (r: Review) => (r.status === 'incomplete' ? 'incomplete (the directory could not be read in full)' : r.status);

async function loadList() {
  const tenant = (filterForm.elements.namedItem('tenant') as HTMLInputElement).value.trim();
  const { reviews } = await api<{ reviews: Review[] }>('GET', `/api/v1/reviews?${new URLSearchParams(tenant ? { tenant } : {})}`);
  byId('empty').hidden = reviews.length > 0;
  byId('reviews').replaceChildren(
    ...reviews.map((r) => {
      const open = h(
        'button',
        { type: 'button', class: 'secondary small', 'aria-label': `Open the review of ${r.tenantId} from ${formatTime(r.requestedAt)}` },
        'Open',
      );
      open.addEventListener('click', () => void show(r.id));
      return h(
        'tr',
        { 'data-review': r.id },
        h('td', {}, formatTime(r.requestedAt)),
        h('td', {}, r.tenantId),
        h('td', {}, r.trigger === 'scheduled' ? 'scheduled' : 'on demand'),
        h('td', { class: 'state' }, statusText(r)),
        ...severities.map((s) => h('td', {}, String(r.counts[s]))),
        h('td', {}, r.signOff ? `signed ${formatTime(r.signOff.at)}` : 'not signed'),
        h('td', {}, open),
      );
    }),
  );
  const ids = new Set(reviews.map((r) => r.tenantId));
  if (me.roles.includes('admin')) {
    const { tenants } = await api<{ tenants: Array<{ id: string }> }>('GET', '/api/v1/tenants').catch(() => ({ tenants: [] }));
    for (const t of tenants) ids.add(t.id);
  }
  byId('tenant-ids').replaceChildren(...[...ids].sort().map((id) => h('option', { value: id })));
}

async function show(id: string) {
  const review = await api<Review & { findings: Finding[] }>('GET', `/api/v1/reviews/${encodeURIComponent(id)}`);
  current = review;
  const section = byId('detail');
  byId('detail-title').textContent = `Review of ${review.tenantId}, ${formatTime(review.requestedAt)}`;
  const pairs: Array<[string, string]> = [
    ['Status', statusText(review)],
    ['Trigger', review.trigger === 'scheduled' ? 'scheduled' : `on demand${review.requestedBy ? ` by ${review.requestedBy}` : ''}`],
    ['Finished', formatTime(review.finishedAt)],
    ['Findings', severities.map((s) => `${s} ${review.counts[s]}`).join(', ')],
    [
      'Sign-off',
      review.signOff
        ? `${review.signOff.by} at ${formatTime(review.signOff.at)}${review.signOff.comment ? `: ${review.signOff.comment}` : ''}`
        : 'not signed off',
    ],
  ];
  byId('detail-fields').replaceChildren(...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  byId<HTMLAnchorElement>('export-csv').href = `/api/v1/reviews/${encodeURIComponent(id)}/export?format=csv`;
  byId<HTMLAnchorElement>('export-json').href = `/api/v1/reviews/${encodeURIComponent(id)}/export?format=json`;
  signoff.hidden = !(me.roles.includes('auditor') && !review.signOff && (review.status === 'completed' || review.status === 'incomplete'));
  byId('findings').replaceChildren(
    ...(review.findings.length === 0
      ? [h('p', {}, review.status === 'queued' || review.status === 'running' ? 'The review is still running.' : 'No findings.')]
      : []),
    ...severities
      .map((s) => ({ s, list: review.findings.filter((f) => f.severity === s) }))
      .filter(({ list }) => list.length > 0)
      .map(({ s, list }) =>
        h(
          'section',
          { 'data-severity': s },
          h('h3', {}, `${s[0]!.toUpperCase()}${s.slice(1)} (${list.length})`),
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'Finding'),
                h('th', { scope: 'col' }, 'Kind'),
                h('th', { scope: 'col' }, 'Subject'),
                h('th', { scope: 'col' }, 'Done'),
              ),
            ),
            h(
              'tbody',
              {},
              ...list.map((f) =>
                h(
                  'tr',
                  { 'data-kind': f.kind },
                  h('td', {}, f.summary),
                  h('td', {}, f.kind.replace(/_/g, ' ')),
                  h('td', { class: 'mono' }, f.subject),
                  h('td', {}, f.action ?? '—'),
                ),
              ),
            ),
          ),
        ),
      ),
  );
  section.hidden = false;
  section.focus();
}

signoff.addEventListener('click', () => {
  if (!current) return;
  const review = current;
  openCodeDialog({
    title: `Sign off the review of ${review.tenantId}`,
    warning: 'You confirm that you have read these findings. A review is signed off once; the sign-off is audited.',
    confirmLabel: 'Sign off',
    fields: [field('signoff-comment', 'Comment (optional)', { name: 'comment', maxlength: '2000' })],
    statusEl: status,
    async action(values, code) {
      await api('POST', `/api/v1/reviews/${encodeURIComponent(review.id)}/signoff`, {
        code,
        ...(values.comment?.trim() ? { comment: values.comment.trim() } : {}),
      });
      await loadList();
      await show(review.id);
      return `The review of ${review.tenantId} is signed off.`;
    },
  });
});

startForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(startForm);
  const tenantId = (startForm.elements.namedItem('tenantId') as HTMLInputElement).value.trim();
  try {
    const review = await api<Review>('POST', '/api/v1/reviews', { tenantId });
    status.textContent = `A review of ${tenantId} is queued; it appears below when the worker has run it.`;
    await loadList();
    await show(review.id);
  } catch (error) {
    showError(startForm, error);
  }
});

filterForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(filterForm);
  try {
    await loadList();
  } catch (error) {
    showError(filterForm, error);
  }
});

await loadList();
const wanted = new URLSearchParams(location.search).get('id');
if (wanted)
  await show(wanted).catch((error: unknown) => {
    status.textContent =
      error instanceof ApiFailure ? `That review could not be opened: ${error.message}` : 'That review could not be opened.';
  });
