// A ready-to-elevate world for a test: a tenant on a real domain, a test OU with groups, an admin,
// and technicians whose own tenant accounts are linked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { systemContext } from '../../src/services/context.ts';
import type { Role } from '../../src/domain/roles.ts';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import type { Harness } from './harness.ts';
import { createTechnician, login, type TestTechnician } from './factories.ts';
import type { createTestOu } from './directory.ts';
import type { SambaDomain } from './services.ts';

export async function addTenant(h: Harness, domain: SambaDomain, options: { keepAccountsDisabled?: boolean } = {}) {
  if (await h.container.store.tenants.findById(domain.name)) return;
  await h.container.services.tenants.create(
    {
      id: domain.name,
      displayName: domain.name,
      timeZone: 'UTC',
      keepAccountsDisabled: options.keepAccountsDisabled,
      directory: {
        url: domain.ldapsUrl,
        bindDn: domain.bindDn,
        bindPassword: domain.bindPassword,
        baseDn: domain.baseDn,
        caCertificate: readFileSync(domain.caFile, 'utf8'),
      },
    },
    'system',
    systemContext,
  );
}

export interface Operative extends TestTechnician {
  accountDn: string;
  accountPassword: string;
  accessToken: string;
}

/**
 * A technician with a linked, disabled account in the tenant, logged in. With `stillClock` the
 * clock is never moved (for tests that share real time with another process): the login uses
 * the previous TOTP step's code, which the ±1 window accepts, so the current step stays fresh.
 */
export async function operative(
  h: Harness,
  domain: SambaDomain,
  ou: Awaited<ReturnType<typeof createTestOu>>,
  roles: Role[] = ['technician'],
  stillClock = false,
): Promise<Operative> {
  const t = await createTechnician(h, roles);
  const accountPassword = `Acct-${Math.random().toString(36).slice(2)}-9Z`;
  const accountName = `msp-${t.username.slice(0, 12)}`;
  const accountDn = await ou.user(accountName, accountPassword);
  await h.container.services.accounts.link(domain.name, t.id, accountName, 'system', systemContext);
  const { accessToken } = stillClock ? await loginAtPreviousStep(h, t) : await login(h, t);
  return { ...t, accountDn, accountPassword, accessToken };
}

async function loginAtPreviousStep(h: Harness, t: TestTechnician) {
  const step = await h.http.post('/api/v1/auth/login').send({ username: t.username, password: t.password });
  const enrol = await h.http.post('/api/v1/auth/mfa/enrol').send({ mfaToken: step.body.mfaToken });
  t.totpSecret = enrol.body.secret as string;
  const code = await totpCodeAt(t.totpSecret, new Date(h.clock.now().getTime() - 30_000));
  const verify = await h.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: step.body.mfaToken, code });
  assert.equal(verify.status, 200, JSON.stringify(verify.body));
  return { accessToken: verify.body.accessToken as string };
}

/** Requests an elevation over HTTP with a fresh code (the clock moves one TOTP step first, unless `stillClock`). */
/** Creates a profile in `tenant` through the API, as the admin holding `adminToken` (open to every technician unless `body` says otherwise). */
export async function createProfile(h: Harness, adminToken: string, tenant: string, body: Record<string, unknown>): Promise<void> {
  const created = await h.http
    .post(`/api/v1/tenants/${tenant}/profiles`)
    .set({ authorization: `Bearer ${adminToken}` })
    .send({ eligibleRoles: ['technician'], ...body });
  assert.equal(created.status, 201, JSON.stringify(created.body));
}

/** `body` with a fresh TOTP code of `who` (the clock moved on a step first, so it is never a replay). */
export async function withFreshCode(h: Harness, who: { totpSecret: string | null }, body: Record<string, unknown> = {}) {
  h.clock.advance(30_000);
  return { code: await totpCodeAt(who.totpSecret!, h.clock.now()), ...body };
}

export async function requestElevation(h: Harness, who: Operative, body: Record<string, unknown>, stillClock = false) {
  if (!stillClock) h.clock.advance(30_000);
  const code = await totpCodeAt(who.totpSecret!, h.clock.now());
  return h.http
    .post('/api/v1/elevations')
    .set({ authorization: `Bearer ${who.accessToken}` })
    .send({ code, ...body });
}

export async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline) assert.fail(`${what} not reached within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 150));
    last = await probe();
  }
  return last;
}

/**
 * Counts the drift scans the reconciler runs (workers in this process call the container's
 * services): `after(n)` resolves once n scans that started after the call have finished, so a test
 * waits for "the reconciler has looked again" rather than for a guessed number of seconds.
 */
export function driftScans(h: Harness) {
  const drift = h.container.services.drift;
  const scan = drift.scan.bind(drift);
  let started = 0;
  let finished: number[] = [];
  const waiters: Array<{ from: number; count: number; resolve: () => void }> = [];
  drift.scan = async () => {
    const mine = ++started;
    try {
      return await scan();
    } finally {
      finished = [...finished, mine];
      for (const w of [...waiters]) {
        if (finished.filter((n) => n > w.from).length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  };
  return {
    after(count = 1): Promise<void> {
      const from = started;
      return new Promise((resolve) => waiters.push({ from, count, resolve }));
    },
    restore() {
      drift.scan = scan;
    },
  };
}
