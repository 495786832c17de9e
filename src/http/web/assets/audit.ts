// The auditor's page: search the audit trail (time range, tenant, technician picked by name, action)
// a page at a time, read one event in full, and download exports of the trail or of the elevation
// history with the same filters. The action list comes from the API's own OpenAPI document, so it
// never drifts; the technicians from the names read auditors may use.
import { api, download, requireSession } from './api.ts';
import { byId, clearError, failureText, formatTime, h, setUpHeader, showError } from './dom.ts';

interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  tenantId: string | null;
  target: string | null;
  requestId: string | null;
  sourceIp: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

const me = await requireSession();
setUpHeader(me);

const form = byId<HTMLFormElement>('search-form');
const rows = byId('events');
const status = byId('results-status');
const older = byId<HTMLButtonElement>('older');
const newer = byId<HTMLButtonElement>('newer');
/** The `before` cursor of every page shown so far (undefined: the newest page). */
const pages: Array<number | undefined> = [];
let nextBefore: number | null = null;
let shown: AuditEvent[] = [];

const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value.trim();
/** datetime-local is the browser's local time; the API wants an instant. */
const instant = (local: string) => (local ? new Date(local).toISOString() : '');

function filters(): Record<string, string> {
  const f: Record<string, string> = {};
  for (const [key, v] of Object.entries({
    from: instant(value('from')),
    to: instant(value('to')),
    tenant: value('tenant'),
    actor: value('actor'),
    action: value('action'),
  })) {
    if (v) f[key] = v;
  }
  return f;
}

/**
 * The export links carry the current filters. A click downloads through the session (download()),
 * which refreshes a lapsed access token first; a plain link would get a 401 once it had lapsed.
 */
function updateExportLinks() {
  const f = filters();
  const audit = new URLSearchParams({
    ...(f.from && { from: f.from }),
    ...(f.to && { to: f.to }),
    ...(f.tenant && { tenant: f.tenant }),
    ...(f.actor && { technician: f.actor }),
    ...(f.action && { action: f.action }),
  });
  const history = new URLSearchParams({
    ...(f.from && { from: f.from }),
    ...(f.to && { to: f.to }),
    ...(f.tenant && { tenant: f.tenant }),
    ...(f.actor && { technician: f.actor }),
  });
  const link = (id: string, path: string, params: URLSearchParams, format: string) => {
    byId<HTMLAnchorElement>(id).href = `${path}?${new URLSearchParams([...params, ['format', format]])}`;
  };
  link('export-ndjson', '/api/v1/audit/export', audit, 'ndjson');
  link('export-csv', '/api/v1/audit/export', audit, 'csv');
  link('history-csv', '/api/v1/elevations/export', history, 'csv');
  link('history-ndjson', '/api/v1/elevations/export', history, 'ndjson');
}

/** Technician ids to "Display name (username)", for the actor column and the detail. */
const names = new Map<string, string>();
const actorName = (actor: string) => names.get(actor) ?? actor;

function showDetail(e: AuditEvent) {
  const section = byId('detail');
  byId('detail-title').textContent = `Event ${e.seq}: ${e.action}`;
  const pairs: Array<[string, string]> = [
    ['Sequence', String(e.seq)],
    ['Time', `${formatTime(e.at)} (${e.at})`],
    ['Actor', names.has(e.actor) ? `${actorName(e.actor)}, ${e.actor}` : e.actor],
    ['Action', e.action],
    ['Tenant', e.tenantId ?? '—'],
    ['Target', e.target ?? '—'],
    ['Request id', e.requestId ?? '—'],
    ['Source IP', e.sourceIp ?? '—'],
    ['Previous hash', e.prevHash],
    ['Hash', e.hash],
  ];
  byId('detail-fields').replaceChildren(
    ...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: k.endsWith('hash') || k === 'Hash' ? 'mono' : '' }, v)]),
  );
  byId('detail-json').textContent = JSON.stringify(e.details, null, 2);
  section.hidden = false;
  section.focus();
}

async function load(before: number | undefined) {
  const params = new URLSearchParams({ ...filters(), limit: value('limit') || '50' });
  if (before !== undefined) params.set('before', String(before));
  const page = await api<{ events: AuditEvent[]; nextBefore: number | null }>('GET', `/api/v1/audit?${params}`);
  shown = page.events;
  nextBefore = page.nextBefore;
  rows.replaceChildren(
    ...shown.map((e) => {
      const open = h('button', { type: 'button', class: 'secondary', 'aria-label': `Show event ${e.seq}` }, 'Show');
      open.addEventListener('click', () => showDetail(e));
      return h(
        'tr',
        { 'data-seq': String(e.seq), 'data-action': e.action, 'data-actor': e.actor },
        h('td', {}, String(e.seq)),
        h('td', {}, formatTime(e.at)),
        h('td', {}, actorName(e.actor)),
        h('td', {}, e.action),
        h('td', {}, e.tenantId ?? '—'),
        h('td', { class: 'mono' }, e.target ?? '—'),
        h('td', {}, open),
      );
    }),
  );
  const first = shown[0]?.seq;
  const last = shown[shown.length - 1]?.seq;
  status.textContent =
    shown.length === 0
      ? 'No events match.'
      : `Page ${pages.length}: events ${last} to ${first}${nextBefore === null ? ' (the oldest that match)' : ''}.`;
  older.disabled = nextBefore === null;
  newer.disabled = pages.length <= 1;
}

async function search() {
  clearError(form);
  pages.length = 0;
  pages.push(undefined);
  byId('detail').hidden = true;
  updateExportLinks();
  try {
    await load(undefined);
  } catch (error) {
    showError(form, error);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void search();
});
form.addEventListener('change', updateExportLinks);
older.addEventListener('click', () => {
  if (nextBefore === null) return;
  pages.push(nextBefore);
  void load(nextBefore);
});
newer.addEventListener('click', () => {
  pages.pop();
  void load(pages[pages.length - 1]);
});

/** The catalogue of actions, read from the API description (the `action` query parameter's enum). */
async function loadActions() {
  const doc = await api<{ paths: Record<string, { get?: { parameters?: Array<{ name: string; schema?: { enum?: string[] } }> } }> }>(
    'GET',
    '/api/v1/openapi.json',
  );
  const actions = doc.paths['/api/v1/audit']?.get?.parameters?.find((p) => p.name === 'action')?.schema?.enum ?? [];
  byId('action').append(...[...actions].sort().map((a) => h('option', { value: a }, a)));
}

async function loadTechnicians() {
  const { technicians } = await api<{ technicians: Array<{ id: string; username: string; displayName: string }> }>(
    'GET',
    '/api/v1/technicians/names',
  );
  for (const t of technicians) names.set(t.id, `${t.displayName} (${t.username})`);
  byId('actor').append(...technicians.map((t) => h('option', { value: t.id }, names.get(t.id)!)));
}

const exportStatus = byId('export-status');
for (const id of ['export-ndjson', 'export-csv', 'history-csv', 'history-ndjson']) {
  const link = byId<HTMLAnchorElement>(id);
  link.addEventListener('click', async (event) => {
    event.preventDefault();
    if (link.getAttribute('aria-disabled') === 'true') return;
    link.setAttribute('aria-disabled', 'true');
    exportStatus.textContent = `Preparing ${link.textContent}…`;
    try {
      const saved = await download(link.getAttribute('href')!);
      exportStatus.textContent = `Downloaded ${saved.filename} (${saved.bytes.toLocaleString()} bytes).`;
    } catch (error) {
      exportStatus.textContent = failureText(error);
    } finally {
      link.removeAttribute('aria-disabled');
    }
  });
}

await Promise.all([loadActions(), loadTechnicians()]);
await search();
