// Admin: the tenants, a check of each one's directory connection (LDAPS, bind, base DN) with the
// result in words, and the tenant kill switch.
import { ApiFailure, api, requireSession } from './api.ts';
import { byId, h, setUpHeader } from './dom.ts';
import { killTenant, loadTenants, type Tenant } from './admin.ts';

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
  const kill = h('button', { type: 'button', class: 'danger', 'aria-label': `Kill switch for ${t.id}` }, 'Kill switch…');
  kill.addEventListener('click', () => killTenant(t, status, load));
  return h(
    'tr',
    { 'data-tenant': t.id },
    h('th', { scope: 'row' }, t.displayName, h('br', {}), h('span', { class: 'hint' }, t.id)),
    h('td', {}, t.directory.url, h('br', {}), h('span', { class: 'hint mono' }, t.directory.baseDn)),
    h('td', {}, t.timeZone),
    h('td', {}, result),
    h('td', { class: 'actions' }, check, kill),
  );
}

async function load() {
  const tenants = await loadTenants();
  byId('no-tenants').hidden = tenants.length > 0;
  byId('tenants').replaceChildren(...tenants.map(row));
}

await load();
