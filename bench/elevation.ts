// Elevation benchmarks against the local Samba domain, each beside its raw LDAP baseline measured
// in the same run (printed figures only; nothing is asserted):
//   activation latency   POST /api/v1/elevations until the membership is readable in AD, vs the
//                        same LDAP operations issued directly with ldapts
//   mass expiry          N grants ending in the same second (BENCH_GRANTS, default 2000; --big: 10000,
//                        whose users are left in place: `bash scripts/samba.sh reset acme` after)
//   single expiry        lag between one grant's end and its membership being gone
//   spread expiry        N grants (BENCH_SPREAD_GRANTS, default 2000) whose ends are spread over
//                        BENCH_SPREAD_MS (default 2000): each membership's lag behind its own end,
//                        vs a raw loop that deletes, in one modify per tick, the members whose end has come
// BENCH_ONLY=activation|single|mass|spread runs one of them.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AlreadyExistsError, Attribute, Change, type Client, EqualityFilter } from 'ldapts';
import supertest from 'supertest';
import { guidToString, toFileTime } from '../src/domain/ad.ts';
import { createApp } from '../src/http/app.ts';
import type { Elevation } from '../src/domain/elevation.ts';
import { runningClock } from '../test/support/clock.ts';
import { adminClient, createTestOu } from '../test/support/directory.ts';
import { bearer, createTechnician, login } from '../test/support/factories.ts';
import { startHarness, type Harness } from '../test/support/harness.ts';
import { testServices } from '../test/support/services.ts';
import { addTenant, operative, requestElevation } from '../test/support/world.ts';
import { startWorkers } from '../workers/runtime.ts';

const grants = process.argv.includes('--big') ? 10_000 : Number(process.env.BENCH_GRANTS ?? 2000);
const activations = Number(process.env.BENCH_ACTIVATIONS ?? 40);
const singles = Number(process.env.BENCH_SINGLES ?? 20);
const spreadGrants = Number(process.env.BENCH_SPREAD_GRANTS ?? 2000);
const spreadMs = Number(process.env.BENCH_SPREAD_MS ?? 2000);
const { acme } = testServices().domains;
/** sAMAccountNames are unique domain-wide: every run names its objects afresh. */
const run = Math.random().toString(36).slice(2, 6);

const pct = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const ms = (v: number) => `${v.toFixed(1)} ms`;
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

async function bound(): Promise<Client> {
  const client = adminClient(acme);
  await client.bind(acme.bindDn, acme.bindPassword);
  return client;
}

async function createUsers(ou: Awaited<ReturnType<typeof createTestOu>>, count: number, prefix: string): Promise<string[]> {
  return (await createUsersWithGuids(ou, count, prefix)).map((u) => u.dn);
}

async function createUsersWithGuids(ou: Awaited<ReturnType<typeof createTestOu>>, count: number, prefix: string) {
  const users: Array<{ dn: string; guid: string }> = [];
  let client = await bound();
  for (let i = 0; i < count; i += 50) {
    // A busy shared domain may time an operation out or drop the connection: the slice is tried
    // again on a fresh connection (an add that landed after all counts).
    for (let attempt = 1; ; attempt++) {
      try {
        const slice = await Promise.all(
          Array.from({ length: Math.min(50, count - i) }, async (_, j) => {
            const name = `${prefix}${run}${i + j}`;
            const dn = `CN=${name},${ou.dn}`;
            try {
              await client.add(dn, {
                objectClass: ['top', 'person', 'organizationalPerson', 'user'],
                sAMAccountName: name,
                userAccountControl: '514',
              });
            } catch (error) {
              if (!(error instanceof AlreadyExistsError && attempt > 1)) throw error;
            }
            const { searchEntries } = await client.search(dn, {
              scope: 'base',
              attributes: ['objectGUID'],
              explicitBufferAttributes: ['objectGUID'],
            });
            return { dn, guid: guidToString(searchEntries[0]!.objectGUID as Buffer) };
          }),
        );
        users.push(...slice);
        break;
      } catch (error) {
        if (attempt >= 5 || !/timed out|connection closed/i.test((error as Error).message)) throw error;
        await client.unbind().catch(() => undefined);
        await sleep(1000);
        client = await bound();
      }
    }
  }
  await client.unbind();
  return users;
}

async function activationLatency(h: Harness, ou: Awaited<ReturnType<typeof createTestOu>>, group: string, adminToken: string) {
  const profile = await h.http
    .post('/api/v1/tenants/acme/profiles')
    .set(bearer(adminToken))
    .send({ name: 'bench-activate', groups: [group], eligibleRoles: ['technician'], defaultDurationSeconds: 600, maxDurationSeconds: 600 });
  if (profile.status !== 201) throw new Error(JSON.stringify(profile.body));
  const team = [];
  for (let i = 0; i < activations; i++) team.push(await operative(h, acme, ou, ['technician'], true));
  const rawUsers = await createUsers(ou, activations, 'rawact');
  const client = await bound();
  const stint: number[] = [];
  const raw: number[] = [];
  // Stint and the raw path take turns, so both see the same domain and the same machine.
  for (const [i, who] of team.entries()) {
    const started = performance.now();
    const response = await requestElevation(h, who, { tenant: 'acme', profile: 'bench-activate' }, true);
    if (response.status !== 201) throw new Error(JSON.stringify(response.body));
    stint.push(performance.now() - started);
    raw.push(await rawActivation(client, rawUsers[i]!, group));
  }
  await client.unbind();
  console.log(
    `activation (${activations}): Stint p50 ${ms(pct(stint, 0.5))}, p99 ${ms(pct(stint, 0.99))} | raw LDAP p50 ${ms(pct(raw, 0.5))}, p99 ${ms(pct(raw, 0.99))} | ratio p50 ${(pct(stint, 0.5) / pct(raw, 0.5)).toFixed(2)}×`,
  );
}

/**
 * The same LDAP operations as an activation, issued directly: find the account, find the group, its
 * nesting, write and read back the account, add the member and read it back.
 */
async function rawActivation(client: Client, dn: string, group: string): Promise<number> {
  const started = performance.now();
  await client.search(dn, { scope: 'base', attributes: ['objectGUID', 'userAccountControl', 'accountExpires'] });
  await client.search(group, { scope: 'base', attributes: ['objectGUID', 'objectSid', 'adminCount', 'memberOf'] });
  await client.search(acme.baseDn, {
    filter: `(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=${group}))`,
    attributes: ['objectSid'],
  });
  await client.modify(dn, [
    new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['512'] }) }),
    new Change({
      operation: 'replace',
      modification: new Attribute({ type: 'accountExpires', values: [toFileTime(new Date(Date.now() + 900_000))] }),
    }),
  ]);
  await client.search(dn, { scope: 'base', attributes: ['userAccountControl', 'accountExpires'] });
  await client.modify(group, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }));
  await client.search(acme.baseDn, { filter: `(&(memberOf=${group})(distinguishedName=${dn}))`, attributes: ['distinguishedName'] });
  return performance.now() - started;
}

/** Grants as activation leaves them (state, account, membership), seeded in bulk to measure expiry alone. */
async function seedGrants(
  h: Harness,
  ou: Awaited<ReturnType<typeof createTestOu>>,
  group: string,
  count: number,
  endsAt: Date,
  prefix: string,
  profileName = 'bench-expiry',
) {
  const users = await createUsersWithGuids(ou, count, prefix);
  const dns = users.map((u) => u.dn);
  const profile = await h.container.store.profiles.findByName('acme', profileName);
  const now = h.clock.now();
  const ids: string[] = [];
  for (const { dn, guid } of users) {
    // Each grant belongs to a different technician, so each revocation also disables its account.
    const technicianId = randomUUID();
    await h.container.store.technicians.insert(
      {
        id: technicianId,
        username: `bench-${technicianId.slice(0, 8)}`,
        displayName: 'Bench',
        email: 'bench@example.test',
        slackUserId: null,
        roles: ['technician'],
        approverTenants: [],
        identitySource: 'local',
        passwordHash: null,
      },
      now,
    );
    const e: Elevation = {
      id: randomUUID(),
      tenantId: 'acme',
      profileId: profile!.id,
      profileName: profile!.name,
      technicianId,
      accountId: randomUUID(),
      accountDn: dn,
      accountGuid: guid,
      groups: [{ dn: group, guid: profile!.groups[0]!.guid, name: 'bench' }],
      state: 'active',
      durationSeconds: 60,
      justification: null,
      ticket: null,
      requestedAt: now,
      activatedAt: now,
      endsAt,
      endedAt: null,
      revocationReason: null,
      failureReason: null,
      steps: null,
      overdueAlertedAt: null,
      updatedAt: now,
      approvalsRequired: 0,
      approverIds: [],
      approvalDeadline: null,
      windowClosesAt: null,
      extension: null,
      extendedSeconds: 0,
      decisions: [],
      risk: null,
    };
    await h.container.store.elevations.insert(e);
    ids.push(e.id);
  }
  const client = await bound();
  for (let i = 0; i < dns.length; i += 1000) {
    await client.modify(
      group,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: dns.slice(i, i + 1000) }) }),
    );
  }
  await client.unbind();
  for (const id of ids) await h.container.jobs.schedule(id, endsAt);
  return { ids, dns };
}

async function massExpiry(h: Harness, ou: Awaited<ReturnType<typeof createTestOu>>, group: string) {
  const setup = performance.now();
  const endsAt = new Date(Date.now() + 3_600_000);
  const { ids, dns } = await seedGrants(h, ou, group, grants, endsAt, 'mass');
  const seconds = (performance.now() - setup) / 1000;
  // Workers run before the end, as in production. All grants end in the same second: move the end
  // of every grant and its job to a moment far enough ahead that moving them is done by then (it is
  // checked: the figures count from the end, so setup running past it would count against Stint).
  const workers = await startWorkers(h.container);
  const due = new Date(h.clock.now().getTime() + 3000 + grants / 2);
  for (let i = 0; i < ids.length; i += 100) {
    await Promise.all(
      ids.slice(i, i + 100).map(async (id) => {
        await h.container.store.elevations.amend(id, 'active', { endsAt: due }, h.clock.now());
        await h.container.jobs.schedule(id, due);
      }),
    );
  }
  const margin = due.getTime() - h.clock.now().getTime();
  if (margin < 0) console.error(`mass expiry: setup overran the end by ${-margin} ms; the figures below include it`);
  else if (process.env.BENCH_VERBOSE) console.error(`mass expiry: grants and jobs moved ${margin} ms before the end`);
  // Watched every 20 ms on one connection (a fresh bind per look cost ~25 ms of resolution); the
  // look asks only whether the group has any member at all, not for the values.
  const watcher = await bound();
  let emptiedAt = 0;
  while (!emptiedAt) {
    await sleep(20);
    const { searchEntries } = await watcher.search(group, { scope: 'base', filter: '(member=*)', attributes: ['1.1'] });
    if (searchEntries.length === 0) emptiedAt = Date.now();
  }
  await watcher.unbind();
  let states: Elevation[];
  const mine = new Set(ids);
  for (;;) {
    // Only this case's grants (an earlier case's expired grants are in the same tenant).
    states = (await h.container.store.elevations.list({ states: ['expired'], tenantIds: ['acme'], limit: 1_000_000 })).filter((e) =>
      mine.has(e.id),
    );
    if (states.length >= grants) break;
    await sleep(200);
  }
  await workers.close();
  const lags = states.map((e) => e.endedAt!.getTime() - due.getTime());
  const membershipGoneS = (emptiedAt - due.getTime()) / 1000;
  // Raw: the same members removed from the same group with batched modifies of 1,000 values.
  const client = await bound();
  for (let i = 0; i < dns.length; i += 1000) {
    await client.modify(
      group,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: dns.slice(i, i + 1000) }) }),
    );
  }
  const rawStart = performance.now();
  for (let i = 0; i < dns.length; i += 1000) {
    await client.modify(
      group,
      new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: dns.slice(i, i + 1000) }) }),
    );
  }
  const rawSeconds = (performance.now() - rawStart) / 1000;
  await client.unbind();
  const stintRate = grants / Math.max(membershipGoneS, 0.001);
  const rawRate = grants / rawSeconds;
  console.log(
    `mass expiry (${grants} grants, one group, seeded in ${seconds.toFixed(0)} s): last membership gone ${membershipGoneS.toFixed(2)} s after the end; ` +
      `grants marked expired (membership confirmed, account disabled) lag p50 ${ms(pct(lags, 0.5))}, p99 ${ms(pct(lags, 0.99))}, max ${ms(pct(lags, 1))}; ` +
      `membership throughput ${stintRate.toFixed(0)}/s vs raw batched delete ${rawRate.toFixed(0)}/s (ratio ${(stintRate / rawRate).toFixed(2)})`,
  );
}

async function singleExpiry(h: Harness, ou: Awaited<ReturnType<typeof createTestOu>>, group: string) {
  const workers = await startWorkers(h.container);
  const watcher = await bound();
  const isMember = async (dn: string) =>
    (await watcher.search(dn, { scope: 'base', filter: new EqualityFilter({ attribute: 'memberOf', value: group }), attributes: ['1.1'] }))
      .searchEntries.length > 0;
  const lags: number[] = [];
  for (let i = 0; i < singles; i++) {
    const endsAt = new Date(h.clock.now().getTime() + 1500);
    const { dns } = await seedGrants(h, ou, group, 1, endsAt, `s${i}-`);
    while (await isMember(dns[0]!)) await sleep(10);
    lags.push(Date.now() - endsAt.getTime());
  }
  await watcher.unbind();
  await workers.close();
  console.log(
    `single expiry (${singles}): lag from end to membership gone p50 ${ms(pct(lags, 0.5))}, p99 ${ms(pct(lags, 0.99))}, max ${ms(pct(lags, 1))}`,
  );
}

/**
 * Watches a group every 20 ms on one connection and notes when each of `dns` is first seen gone;
 * resolves once all are gone (or rejects after `timeoutMs`).
 */
async function watchGone(group: string, dns: string[], timeoutMs: number): Promise<Map<string, number>> {
  const watcher = await bound();
  const left = new Set(dns.map((dn) => dn.toLowerCase()));
  const goneAt = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  try {
    while (left.size > 0) {
      if (Date.now() > deadline) throw new Error(`${left.size} membership(s) still there after ${timeoutMs} ms`);
      const { searchEntries } = await watcher.search(group, { scope: 'base', attributes: ['member'] });
      const at = Date.now();
      const raw = searchEntries[0]?.member ?? [];
      const present = new Set((Array.isArray(raw) ? raw : [raw]).map((v) => String(v).toLowerCase()));
      for (const dn of [...left]) {
        if (!present.has(dn)) {
          left.delete(dn);
          goneAt.set(dn, at);
        }
      }
      await sleep(20);
    }
  } finally {
    await watcher.unbind();
  }
  return goneAt;
}

/** Real shifts: grants whose ends are spread over a couple of seconds, each to be gone within 1 s of its own end. */
async function spreadExpiry(h: Harness, ou: Awaited<ReturnType<typeof createTestOu>>, group: string) {
  const setup = performance.now();
  const { ids, dns } = await seedGrants(h, ou, group, spreadGrants, new Date(Date.now() + 3_600_000), 'spread', 'bench-spread');
  const seconds = (performance.now() - setup) / 1000;
  const workers = await startWorkers(h.container);
  const start = h.clock.now().getTime() + 3000 + spreadGrants;
  const endOf = (i: number) => start + Math.floor((i * spreadMs) / spreadGrants);
  for (let i = 0; i < ids.length; i += 100) {
    await Promise.all(
      ids.slice(i, i + 100).map(async (id, j) => {
        const end = new Date(endOf(i + j));
        await h.container.store.elevations.amend(id, 'active', { endsAt: end }, h.clock.now());
        await h.container.jobs.schedule(id, end);
      }),
    );
  }
  const margin = start - h.clock.now().getTime();
  if (margin < 0) console.error(`spread expiry: setup overran the first end by ${-margin} ms; the figures below include it`);
  const goneAt = await watchGone(group, dns, 120_000);
  await workers.close();
  const stintLags = dns.map((dn, i) => goneAt.get(dn.toLowerCase())! - endOf(i));

  // Raw, same run, same group and members: every 10 ms, one modify deletes the members whose end has come.
  const client = await bound();
  for (let i = 0; i < dns.length; i += 1000) {
    await client.modify(
      group,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: dns.slice(i, i + 1000) }) }),
    );
  }
  const rawStart = Date.now() + 1000;
  const rawEndOf = (i: number) => rawStart + Math.floor((i * spreadMs) / spreadGrants);
  const watching = watchGone(group, dns, 120_000);
  let next = 0;
  while (next < dns.length) {
    const now = Date.now();
    let upTo = next;
    while (upTo < dns.length && rawEndOf(upTo) <= now) upTo++;
    if (upTo > next) {
      await client.modify(
        group,
        new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: dns.slice(next, upTo) }) }),
      );
      next = upTo;
    } else {
      await sleep(10);
    }
  }
  const rawGoneAt = await watching;
  await client.unbind();
  const rawLags = dns.map((dn, i) => rawGoneAt.get(dn.toLowerCase())! - rawEndOf(i));
  console.log(
    `spread expiry (${spreadGrants} grants ending over ${(spreadMs / 1000).toFixed(1)} s, seeded in ${seconds.toFixed(0)} s): membership gone after its own end ` +
      `Stint p50 ${ms(pct(stintLags, 0.5))}, p99 ${ms(pct(stintLags, 0.99))}, max ${ms(pct(stintLags, 1))} | ` +
      `raw batched delete p50 ${ms(pct(rawLags, 0.5))}, p99 ${ms(pct(rawLags, 0.99))}, max ${ms(pct(rawLags, 1))} (both seen by a watcher reading the group every 20 ms)`,
  );
}

const h = await startHarness({ clock: runningClock(), config: { logging: { level: 'silent' }, queue: { revocationConcurrency: 1000 } } });
// As deployed: one listening server, its connections kept alive (supertest given an app would
// start a server of its own for every request, a cost no deployment pays).
const server = createApp(h.container).app.listen(0, '127.0.0.1');
await once(server, 'listening');
h.http = supertest(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
const ou = await createTestOu(acme, 'bench');
try {
  await addTenant(h, acme);
  const adminToken = (await login(h, await createTechnician(h, ['admin']))).accessToken;
  h.clock.set(Date.now());
  const activateGroup = await ou.group(`Bench-Activate-${run}`);
  const expiryGroup = await ou.group(`Bench-Expiry-${run}`);
  const only = process.env.BENCH_ONLY; // activation | single | mass | spread
  if (!only || only === 'activation') await activationLatency(h, ou, activateGroup, adminToken);
  const created = await h.http
    .post('/api/v1/tenants/acme/profiles')
    .set(bearer(adminToken))
    .send({
      name: 'bench-expiry',
      groups: [expiryGroup],
      eligibleRoles: ['technician'],
      defaultDurationSeconds: 60,
      maxDurationSeconds: 600,
    });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  if (!only || only === 'single') await singleExpiry(h, ou, expiryGroup);
  if (!only || only === 'spread') {
    const spreadGroup = await ou.group(`Bench-Spread-${run}`);
    const spread = await h.http
      .post('/api/v1/tenants/acme/profiles')
      .set(bearer(adminToken))
      .send({
        name: 'bench-spread',
        groups: [spreadGroup],
        eligibleRoles: ['technician'],
        defaultDurationSeconds: 60,
        maxDurationSeconds: 600,
      });
    if (spread.status !== 201) throw new Error(JSON.stringify(spread.body));
    await spreadExpiry(h, ou, spreadGroup);
  }
  if (!only || only === 'mass') await massExpiry(h, ou, expiryGroup);
} finally {
  server.close();
  await h.close();
  if (grants > 2000) {
    // Deleting thousands of users takes Samba longer than the run itself (~150 ms each).
    console.log(`left ${ou.dn} in place; a fresh copy of the domain: bash scripts/samba.sh reset acme`);
    process.exit(0);
  }
  const client = await bound();
  const { searchEntries } = await client.search(ou.dn, { scope: 'one', attributes: ['dn'], paged: { pageSize: 1000 } });
  for (const entry of searchEntries) await client.del(entry.dn).catch(() => undefined);
  await client.unbind();
  await ou.cleanup();
}
