// Stint in Slack, end to end: signed slash commands and interactions sent like Slack sends them,
// a local fake of Slack's Web API recording what Stint says, real Redis/BullMQ workers and a real
// Samba domain where the grant lands.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { systemContext } from '../../src/services/context.ts';
import type { Elevation } from '../../src/domain/elevation.ts';
import { startWorkers, type RunningWorkers } from '../../workers/runtime.ts';
import { runningClock } from '../support/clock.ts';
import { createTestOu, membersOf } from '../support/directory.ts';
import { bearer, createTechnician, login, type TestTechnician } from '../support/factories.ts';
import { startFakeSlack, type FakeMessage, type FakeSlack, type FakeView } from '../support/fake-slack.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { testServices } from '../support/services.ts';
import { slackClient } from '../support/slack-client.ts';
import { addTenant, eventually, operative, type Operative } from '../support/world.ts';

const { acme } = testServices().domains;
const approvalChannel = 'C0APPROVALS';
const alertChannel = 'C0ALERTS';

describe('Slack', () => {
  let h: Harness;
  let fake: FakeSlack;
  let workers: RunningWorkers;
  let ou: Awaited<ReturnType<typeof createTestOu>>;
  let client: ReturnType<typeof slackClient>;
  let group: string;
  let requester: Operative & { slackId: string };
  let alice: TestTechnician & { slackId: string };
  let bob: TestTechnician & { slackId: string };
  const signingSecret = randomBytes(16).toString('hex');

  const idle = () => h.container.slack!.service.idle();
  /** Slack work in hand done, and no notification waiting in the queue or being sent. */
  const quiet = async () => {
    await idle();
    await eventually(
      () => h.container.queues.notifications.getJobCounts('waiting', 'active', 'prioritized'),
      (c) => (c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) === 0,
      10_000,
      'notifications sent',
    );
  };
  const freshCode = async (who: TestTechnician) => {
    h.clock.advance(30_000);
    return totpCodeAt(who.totpSecret!, h.clock.now());
  };
  const elevation = async (id: string) => (await h.container.store.elevations.findById(id))!;
  const auditCount = async () => (await h.container.store.audit.head()).seq;
  const latestPending = async (): Promise<Elevation> => {
    const list = await h.container.store.elevations.list({ technicianId: requester.id, states: ['pending_approval'], limit: 10 });
    assert.equal(list.length, 1, 'one request waits for approval');
    return list[0]!;
  };
  const messageText = (m: FakeMessage) => JSON.stringify(m.blocks);
  const hasButtons = (m: FakeMessage) => m.blocks.some((b) => b.type === 'actions');
  /** The approval message for an elevation in a channel (or a user's DM), once the worker has posted it. */
  const approvalMessageIn = (where: string, elevationId: string) =>
    eventually(
      async () =>
        fake
          .messagesIn(where)
          .find((m) => messageText(m).includes(`"value":"${elevationId}"`) || messageText(m).includes(elevationId.slice(0, 8))),
      (m) => m !== undefined,
      10_000,
      `approval message in ${where}`,
    ) as Promise<FakeMessage>;

  /** `/stint request …` by the requester, then the TOTP modal submitted with a fresh code. */
  async function requestViaSlack(text: string) {
    const { response, triggerId } = await client.command(requester.slackId, text);
    assert.equal(response.status, 200);
    await idle();
    const view = fake.viewOpenedBy(triggerId);
    assert.ok(view, 'the request modal opened');
    const submitted = await client.submit(requester.slackId, view, { code: await freshCode(requester) });
    assert.equal(submitted.response.status, 200, submitted.response.text);
    await idle();
    return { view, submitted };
  }

  /** Click (Approve or Deny) on a message, then submit the modal it opened with a fresh code. */
  async function decide(
    who: TestTechnician & { slackId: string },
    message: FakeMessage,
    action: 'stint_approve' | 'stint_deny',
    values: Record<string, string> = {},
  ) {
    const clicked = await client.click(who.slackId, message, action);
    assert.equal(clicked.response.status, 200);
    await idle();
    const view = fake.viewOpenedBy(clicked.triggerId);
    assert.ok(view, `${action} opened a TOTP modal`);
    const submitted = await client.submit(who.slackId, view, { code: await freshCode(who), ...values });
    await idle();
    return { view, submitted };
  }

  async function approver(slackId: string) {
    const t = await createTechnician(h, ['approver']);
    await login(h, t);
    await h.container.store.technicians.update(t.id, { slackUserId: slackId, approverTenants: ['acme'] }, h.clock.now());
    return { ...t, slackId };
  }

  before(async () => {
    fake = await startFakeSlack();
    h = await startHarness({
      clock: runningClock(),
      config: {
        queue: { reconcileIntervalSeconds: 2 },
        slack: { enabled: true, apiUrl: fake.apiUrl, botToken: fake.botToken, signingSecret, alertChannel, expiryWarningSeconds: 4 },
      },
    });
    workers = await startWorkers(h.container);
    client = slackClient(h, fake, signingSecret);
    await addTenant(h, acme);
    await h.container.services.tenants.update('acme', { slackChannel: approvalChannel }, 'system', systemContext);
    ou = await createTestOu(acme, 'slack');
    group = await ou.group('Slack-Helpdesk');
    const adminToken = (await login(h, await createTechnician(h, ['admin']))).accessToken;
    const base = { groups: [group], eligibleRoles: ['technician'], defaultDurationSeconds: 9, maxDurationSeconds: 600 };
    for (const body of [
      { ...base, name: 'helpdesk', approval: { required: 2 } },
      { ...base, name: 'quick', defaultDurationSeconds: 300 },
      { ...base, name: 'ticketed', approval: { required: 1 }, ticketPattern: 'INC-[0-9]+' },
    ]) {
      const created = await h.http.post('/api/v1/tenants/acme/profiles').set(bearer(adminToken)).send(body);
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    // The requester approves for acme too, so that refusing their own request is the rule at work.
    const op = await operative(h, acme, ou, ['technician', 'approver']);
    await h.container.store.technicians.update(op.id, { slackUserId: 'U0REQUESTER', approverTenants: ['acme'] }, h.clock.now());
    requester = { ...op, slackId: 'U0REQUESTER' };
    alice = await approver('U0ALICE');
    bob = await approver('U0BOB');
  });

  after(async () => {
    await workers?.close();
    await h?.close();
    await fake?.close();
    await ou?.cleanup();
  });

  it('when a request goes slash command → TOTP modal → two approvals by button and TOTP, then the grant lands in AD and the requester hears of it until it expires', async () => {
    const { view, submitted } = await requestViaSlack('request acme helpdesk printer queue stuck');
    // The modal asked for the code and carried the justification typed after the command.
    assert.ok(JSON.stringify(view.view.blocks).includes('printer queue stuck'));
    assert.equal(submitted.response.body.response_action, 'update');
    assert.match(JSON.stringify(submitted.response.body.view), /waits for 2 approvals/);
    const pending = await latestPending();
    assert.equal(pending.justification, 'printer queue stuck');

    // The worker asks in the tenant's approval channel and in each approver's DM; never the requester.
    const inChannel = await approvalMessageIn(approvalChannel, pending.id);
    assert.ok(hasButtons(inChannel));
    const inBobsDm = await approvalMessageIn(bob.slackId, pending.id);
    await approvalMessageIn(alice.slackId, pending.id);
    assert.equal(fake.messagesIn(requester.slackId).length, 0);

    const first = await decide(alice, inChannel, 'stint_approve');
    assert.equal(first.submitted.response.body.response_action, 'update');
    assert.match(JSON.stringify(first.submitted.response.body.view), /1 of 2 approvals/);
    assert.equal((await elevation(pending.id)).state, 'pending_approval');
    // The channel message now says who approved, and still offers the buttons.
    await eventually(
      async () => fake.messages.get(`${inChannel.channel}:${inChannel.ts}`)!,
      (m) => messageText(m).includes('1 of 2 approvals') && hasButtons(m),
      10_000,
      'message shows one approval',
    );

    const second = await decide(bob, inBobsDm, 'stint_approve');
    assert.equal(second.submitted.response.status, 200);
    const active = await eventually(
      () => elevation(pending.id),
      (e) => e.state === 'active',
      15_000,
      'activation',
    );
    assert.ok((await membersOf(acme, group)).includes(requester.accountDn.toLowerCase()), 'the account is in the group in the acme domain');

    // Every message is redrawn without buttons, naming both approvers.
    const redrawn = await eventually(
      async () => [inChannel, inBobsDm].map((m) => fake.messages.get(`${m.channel}:${m.ts}`)!),
      (ms) => ms.every((m) => !hasButtons(m) && messageText(m).includes('Approved by')),
      10_000,
      'approval messages updated',
    );
    assert.match(messageText(redrawn[0]!), /Test tech/);
    // The requester's DMs: granted, ends soon, ended.
    const dms = await eventually(
      async () => fake.messagesIn(requester.slackId).map((m) => m.text),
      (texts) =>
        texts.some((t) => t.startsWith('Access granted')) &&
        texts.some((t) => t.startsWith('Access ends soon')) &&
        texts.some((t) => t.endsWith(': expired')),
      25_000,
      'granted, expiring and expired DMs',
    );
    assert.deepEqual(
      dms.map((t) => t.split(':')[0]),
      ['Access granted', 'Access ends soon', 'helpdesk in acme'],
    );
    assert.ok(active.endsAt);
    assert.equal((await elevation(pending.id)).state, 'expired');
    assert.ok(!(await membersOf(acme, group)).includes(requester.accountDn.toLowerCase()));

    // Audited as the technicians, naming their Slack users.
    const events = (await h.container.store.audit.list({ limit: 200 })).filter(
      (e) => e.target === pending.id || e.details.profile === 'helpdesk',
    );
    const slackEvents = events.filter((e) => e.action === 'slack.interaction');
    assert.deepEqual(
      slackEvents.map((e) => [e.actor, e.details.slackUserId, e.details.action]).sort(),
      [
        [alice.id, alice.slackId, 'approve'],
        [bob.id, bob.slackId, 'approve'],
        [requester.id, requester.slackId, 'request'],
      ].sort(),
    );
    assert.deepEqual(
      events
        .filter((e) => e.action === 'elevation.approved')
        .map((e) => e.actor)
        .sort(),
      [alice.id, bob.id].sort(),
    );
  });

  it('when the requester clicks Approve on their own request, then it is refused, and a forged submission is refused too', async () => {
    await requestViaSlack('request acme helpdesk self check');
    const pending = await latestPending();
    const message = await approvalMessageIn(approvalChannel, pending.id);
    const opened = fake.views.size;
    const ephemerals = fake.callsOf('chat.postEphemeral').length;
    const clicked = await client.click(requester.slackId, message, 'stint_approve');
    assert.equal(clicked.response.status, 200);
    await idle();
    assert.equal(fake.views.size, opened, 'no modal for the requester');
    const told = fake.callsOf('chat.postEphemeral').slice(ephemerals);
    assert.equal(told.length, 1);
    assert.equal(told[0]!.args.user, requester.slackId);
    assert.match(String(told[0]!.args.text), /own request/);

    // The requester submits an approval modal opened by someone else: the core refuses it.
    const aliceClick = await client.click(alice.slackId, message, 'stint_approve');
    await idle();
    const aliceView = fake.viewOpenedBy(aliceClick.triggerId)!;
    const forged = await client.submit(requester.slackId, aliceView, { code: await freshCode(requester) });
    assert.equal(forged.response.status, 200);
    assert.match(JSON.stringify(forged.response.body.view), /own request/);
    const after = await elevation(pending.id);
    assert.equal(after.state, 'pending_approval');
    assert.equal(after.decisions.length, 0);
  });

  it('when the same approver approves twice, then it counts once', async () => {
    const pending = await latestPending();
    const message = await approvalMessageIn(approvalChannel, pending.id);
    // Two modals opened by two clicks before either is submitted.
    const one = await client.click(alice.slackId, message, 'stint_approve');
    const two = await client.click(alice.slackId, message, 'stint_approve');
    await idle();
    const first = await client.submit(alice.slackId, fake.viewOpenedBy(one.triggerId)!, { code: await freshCode(alice) });
    assert.match(JSON.stringify(first.response.body.view), /1 of 2 approvals/);
    const second = await client.submit(alice.slackId, fake.viewOpenedBy(two.triggerId)!, { code: await freshCode(alice) });
    assert.equal(second.response.status, 200);
    assert.doesNotMatch(JSON.stringify(second.response.body), /2 of 2/);
    await idle();
    let e = await elevation(pending.id);
    assert.equal(e.state, 'pending_approval');
    assert.deepEqual(
      e.decisions.map((d) => d.approverId),
      [alice.id],
    );
    // A later click is answered at once, without a modal.
    const ephemerals = fake.callsOf('chat.postEphemeral').length;
    const opened = fake.views.size;
    await client.click(alice.slackId, message, 'stint_approve');
    await idle();
    assert.equal(fake.views.size, opened);
    assert.match(String(fake.callsOf('chat.postEphemeral').slice(ephemerals)[0]?.args.text), /already approved/);
    e = await elevation(pending.id);
    assert.equal(e.decisions.length, 1);
  });

  it('when an approver denies, then the request ends denied, the requester is told why, and the message shows it', async () => {
    const pending = await latestPending();
    const message = await approvalMessageIn(approvalChannel, pending.id);
    const { submitted } = await decide(bob, message, 'stint_deny', { reason: 'not during the audit' });
    assert.match(JSON.stringify(submitted.response.body.view), /You denied/);
    assert.equal((await elevation(pending.id)).state, 'denied');
    await eventually(
      async () => fake.messagesIn(requester.slackId).map((m) => messageText(m)),
      (texts) => texts.some((t) => t.includes('was denied by') && t.includes('not during the audit')),
      10_000,
      'denial DM',
    );
    await eventually(
      async () => fake.messages.get(`${message.channel}:${message.ts}`)!,
      (m) => !hasButtons(m) && messageText(m).includes('Denied by'),
      10_000,
      'message shows the denial',
    );
    assert.ok(!(await membersOf(acme, group)).includes(requester.accountDn.toLowerCase()));
  });

  it('when the TOTP code in a modal is wrong, then the modal shows the error beside the code and nothing is requested', async () => {
    const { response, triggerId } = await client.command(requester.slackId, 'request acme quick 2m');
    assert.equal(response.status, 200);
    await idle();
    const view = fake.viewOpenedBy(triggerId)!;
    const wrong = await client.submit(requester.slackId, view, { code: '000000' });
    assert.equal(wrong.response.body.response_action, 'errors');
    assert.match(wrong.response.body.errors.code, /not valid/);
    assert.equal((await h.container.store.elevations.list({ technicianId: requester.id, states: ['activating', 'active'] })).length, 0);

    // So is a ticket that does not match the profile's pattern, beside the ticket.
    const ticketed = await client.command(requester.slackId, 'request acme ticketed');
    await idle();
    const ticketView = fake.viewOpenedBy(ticketed.triggerId)!;
    const badTicket = await client.submit(requester.slackId, ticketView, { code: await freshCode(requester), ticket: 'JIRA-1' });
    assert.equal(badTicket.response.body.response_action, 'errors');
    assert.deepEqual(Object.keys(badTicket.response.body.errors), ['ticket']);
  });

  it('when a request needs no approval, then the modal answers with the active grant, and /stint revoke ends it without a code', async () => {
    const { submitted } = await requestViaSlack('request acme quick 2m');
    assert.match(JSON.stringify(submitted.response.body.view), /is active until/);
    const [active] = await h.container.store.elevations.list({ technicianId: requester.id, states: ['active'] });
    assert.ok(active);
    assert.equal(active.durationSeconds, 120);

    const listed = await client.command(requester.slackId, 'list');
    assert.equal(listed.response.body.response_type, 'ephemeral');
    assert.match(listed.response.body.text, new RegExp(active.id.slice(0, 8)));

    const revoked = await client.command(requester.slackId, `revoke ${active.id.slice(0, 8)}`);
    assert.match(revoked.response.body.text, /Revoking/);
    await idle();
    assert.equal((await elevation(active.id)).state, 'revoked');
    assert.ok(!(await membersOf(acme, group)).includes(requester.accountDn.toLowerCase()));
    await eventually(
      async () => fake.messagesIn(requester.slackId).map((m) => messageText(m)),
      (t) => t.some((x) => x.includes('you revoked it')),
      10_000,
      'revocation DM',
    );
  });

  it('when a request is unsigned, wrongly signed, stale or from the future, then it gets 401 and nothing changes', async () => {
    await eventually(
      async () => (await h.container.store.elevations.list({ technicianId: requester.id, states: ['active', 'revoking'] })).length,
      (n) => n === 0,
      10_000,
      'no grant',
    );
    await quiet();
    const pending = await h.container.store.elevations.list({ technicianId: requester.id, limit: 1000 });
    const calls = fake.calls.length;
    const seq = await auditCount();
    const attempts = [
      { name: 'bad signature', options: { secret: 'not-the-signing-secret' } },
      { name: 'stale timestamp', options: { skewSeconds: -305 } },
      { name: 'future timestamp', options: { skewSeconds: 305 } },
      { name: 'no signature', options: { omit: ['x-slack-signature' as const] } },
      { name: 'no timestamp', options: { omit: ['x-slack-request-timestamp' as const] } },
    ];
    for (const { name, options } of attempts) {
      const { response } = await client.command(requester.slackId, 'request acme quick 2m', options);
      assert.equal(response.status, 401, name);
      assert.equal(response.body.error.code, 'unauthenticated', name);
      assert.match(response.body.error.message, /not signed by Slack/, name);
    }
    // An interaction carrying a valid code, wrongly signed: not acted on either.
    const { view } = await (async () => {
      const { triggerId } = await client.command(requester.slackId, 'request acme quick 2m');
      await idle();
      return { view: fake.viewOpenedBy(triggerId)! };
    })();
    const callsAfterModal = fake.calls.length;
    assert.equal(callsAfterModal, calls + 1, 'only the correctly signed command reached Slack');
    const seqAfterModal = await auditCount();
    const unsigned = await client.submit(requester.slackId, view, { code: await freshCode(requester) }, { skewSeconds: 3600 });
    assert.equal(unsigned.response.status, 401);
    await idle();
    assert.equal(fake.calls.length, callsAfterModal);
    assert.equal(await auditCount(), seqAfterModal);
    assert.equal(seqAfterModal, seq, 'opening a modal writes no audit event');
    assert.deepEqual(
      (await h.container.store.elevations.list({ technicianId: requester.id, limit: 1000 })).map((e) => e.id),
      pending.map((e) => e.id),
    );
    // Within the 5 minutes either way, it is accepted.
    const { response } = await client.command(requester.slackId, 'help', { skewSeconds: -290 });
    assert.equal(response.status, 200);
  });

  it('when an interaction is replayed byte for byte, then it has one effect', async () => {
    await requestViaSlack('request acme helpdesk replay check');
    const pending = await latestPending();
    const message = await approvalMessageIn(approvalChannel, pending.id);
    const clicked = await client.click(alice.slackId, message, 'stint_approve');
    await idle();
    const view: FakeView = fake.viewOpenedBy(clicked.triggerId)!;
    const { response, request } = await client.submit(alice.slackId, view, { code: await freshCode(alice) });
    assert.match(JSON.stringify(response.body.view), /1 of 2 approvals/);
    await quiet();
    const seq = await auditCount();
    const calls = fake.calls.length;
    h.clock.advance(30_000);
    const again = await client.send(request);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, {});
    await quiet();
    assert.deepEqual(
      (await h.container.store.audit.list({ limit: 10 })).filter((e) => e.seq > seq).map((e) => [e.action, e.actor]),
      [],
    );
    assert.equal(fake.calls.length, calls);
    assert.deepEqual(
      (await elevation(pending.id)).decisions.map((d) => d.approverId),
      [alice.id],
    );
    // A replayed slash command opens no second modal.
    const command = await client.command(requester.slackId, 'request acme quick');
    await idle();
    const views = fake.views.size;
    await client.send(command.request);
    await idle();
    assert.equal(fake.views.size, views);
  });

  it('when an unknown Slack user uses Stint, then they get a clear ephemeral message and nothing else', async () => {
    await quiet();
    const calls = fake.calls.length;
    const seq = await auditCount();
    const { response } = await client.command('U0STRANGER', 'request acme helpdesk 1h');
    assert.equal(response.status, 200);
    assert.equal(response.body.response_type, 'ephemeral');
    assert.match(response.body.text, /does not know your Slack account/);
    await idle();
    assert.equal(fake.calls.length, calls, 'no call to Slack, no modal');
    assert.equal(await auditCount(), seq);

    // A click on an approval message: the only answer is an ephemeral message to that user.
    const pending = await latestPending();
    const message = await approvalMessageIn(approvalChannel, pending.id);
    await client.click('U0STRANGER', message, 'stint_approve');
    await idle();
    assert.deepEqual(
      fake.calls.slice(calls).map((c) => [c.method, c.args.user]),
      [['chat.postEphemeral', 'U0STRANGER']],
    );
    assert.equal(await auditCount(), seq);
    assert.equal((await elevation(pending.id)).decisions.length, 1);
  });

  it('when Stint answers help and alerts, then the help lists the commands and alerts go to the alert channel', async () => {
    const help = await client.command(requester.slackId, 'help');
    assert.match(help.response.body.text, /\/stint request <tenant> <profile>/);
    // A real lockout: five wrong codes on a request.
    const guesser = await operative(h, acme, ou, ['technician'], true);
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) {
      const wrong = await h.http
        .post('/api/v1/elevations')
        .set(bearer(guesser.accessToken))
        .send({ tenant: 'acme', profile: 'quick', code: '000000' });
      answers.push(wrong.status);
    }
    assert.deepEqual(answers, [401, 401, 401, 401, 423]);
    const alert = await eventually(
      async () => fake.messagesIn(alertChannel),
      (ms) => ms.length === 1,
      10_000,
      'alert',
    );
    assert.match(alert[0]!.text, new RegExp(`mfa lockout: technician ${guesser.username}`));
  });

  it('when the requester is suspended while their Slack modals are open, then neither their request modal nor an approver’s approval modal grants anything', async () => {
    // A request waiting for one approval, and alice's approval modal opened on it.
    const ticketed = await client.command(requester.slackId, 'request acme ticketed disk full');
    await idle();
    const asking = await client.submit(requester.slackId, fake.viewOpenedBy(ticketed.triggerId)!, {
      code: await freshCode(requester),
      ticket: 'INC-77',
    });
    assert.equal(asking.response.status, 200, asking.response.text);
    await idle();
    const pending = (await h.container.store.elevations.list({ technicianId: requester.id, states: ['pending_approval'], limit: 10 })).find(
      (e) => e.ticket === 'INC-77',
    )!;
    assert.ok(pending, 'the request waits for approval');
    const message = await approvalMessageIn(approvalChannel, pending.id);
    const clicked = await client.click(alice.slackId, message, 'stint_approve');
    await idle();
    const approvalView = fake.viewOpenedBy(clicked.triggerId)!;
    assert.ok(approvalView, 'the approval modal opened');
    // And a request modal of the requester's own, opened but not yet submitted.
    const opened = await client.command(requester.slackId, 'request acme quick 2m');
    await idle();
    const requestView = fake.viewOpenedBy(opened.triggerId)!;
    assert.ok(requestView, 'the request modal opened');

    await h.container.services.technicians.update(requester.id, { status: 'suspended' }, 'system', systemContext);
    try {
      assert.equal((await elevation(pending.id)).state, 'cancelled', 'the suspension withdrew the pending request');
      const approved = await client.submit(alice.slackId, approvalView, { code: await freshCode(alice) });
      assert.equal(approved.response.status, 200);
      await idle();
      assert.doesNotMatch(JSON.stringify(approved.response.body), /You approved/);
      assert.equal((await elevation(pending.id)).state, 'cancelled');

      const asked = await client.submit(requester.slackId, requestView, { code: await freshCode(requester) });
      assert.equal(asked.response.status, 200);
      await idle();
      assert.match(JSON.stringify(asked.response.body), /suspended/);
      assert.deepEqual(
        await h.container.store.elevations.list({ technicianId: requester.id, states: ['pending_approval', 'activating', 'active'] }),
        [],
      );
      assert.ok(!(await membersOf(acme, group)).includes(requester.accountDn.toLowerCase()), 'nothing in AD');
      await quiet();
    } finally {
      await h.container.services.technicians.update(requester.id, { status: 'active' }, 'system', systemContext);
    }
  });
});
