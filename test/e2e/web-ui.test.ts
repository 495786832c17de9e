// The web UI in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) against
// the real server: real store, real Redis, the real acme Samba domain. Real time throughout, so the
// page's countdown and the test's TOTP codes agree with the server; each TOTP use takes a later
// 30 s step than the one before (previous, current, next: all inside the ±1 window).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { createApp } from '../../src/http/app.ts';
import { systemContext } from '../../src/services/context.ts';
import { runningClock } from '../support/clock.ts';
import { addMember, createTestOu, domainAdminsDn, membersOf } from '../support/directory.ts';
import { createTechnician, type TestTechnician } from '../support/factories.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { repoRoot, testServices } from '../support/services.ts';
import { addTenant } from '../support/world.ts';

const { acme } = testServices().domains;
const screenshots = join(repoRoot, 'test-output', 'screenshots');

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

const lastStep = new Map<string, number>();

/**
 * A code for a 30 s step later than any this technician used (the server refuses a step twice),
 * within the ±1 window the server accepts: waits for the clock when every such step is used.
 */
async function freshCode(who: TestTechnician): Promise<string> {
  for (;;) {
    const now = Date.now();
    const current = Math.floor(now / 30_000);
    const left = 30_000 - (now % 30_000);
    // Near a step's end the previous step is about to leave the window; skip it (15 s ahead: a busy
    // machine may take that long from here to the server's check).
    const step = Math.max((lastStep.get(who.id) ?? -Infinity) + 1, left < 15_000 ? current : current - 1);
    if (step <= current + 1) {
      lastStep.set(who.id, step);
      return totpCodeAt(who.totpSecret!, new Date(step * 30_000));
    }
    await new Promise((r) => setTimeout(r, left + 200));
  }
}

describe('web UI in headless Chromium', () => {
  let h: Harness;
  let ou: Awaited<ReturnType<typeof createTestOu>>;
  let server: Server;
  let base: string;
  let browser: Browser;
  let helpdeskGroup: string;
  let guardedGroup: string;
  let tech: TestTechnician & { accountDn: string };
  let approver: TestTechnician;
  let auditor: TestTechnician;
  let admin: TestTechnician;
  let nestedGroup: string;
  let middleGroup: string;
  let plainGroup: string;
  let pickGroup: string;
  let protectGroup: string;
  let editor: TestTechnician;
  let lateAuditor: TestTechnician;
  /** The second admin's page, kept across the admin-form tests. */
  let editorPage: Page;
  let suffix: string;
  /** The helpdesk grant requested, extended and revoked in the second test. */
  let revokedId = '';
  let techContext: BrowserContext;
  let techPage: Page;
  let activeId = '';

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  }

  /** Signs in through the login page; at first login enrols and keeps the secret shown as text. */
  async function signIn(page: Page, who: TestTechnician, screenshotName?: string, landing = '/app/') {
    await page.goto(`${base}/app/`);
    await page.waitForURL(`${base}/app/login`);
    await page.getByLabel('Username').fill(who.username);
    await page.getByLabel('Password').fill(who.password);
    if (screenshotName) await shot(page, `${screenshotName}-password`);
    await page.getByRole('button', { name: 'Continue' }).click();
    const secret = page.locator('#secret');
    await secret.waitFor();
    who.totpSecret = (await secret.getAttribute('data-secret'))!;
    assert.match(who.totpSecret, /^[A-Z2-7]{32,}$/, 'the secret is shown as text');
    assert.equal((await secret.textContent())!.replace(/ /g, ''), who.totpSecret);
    assert.match((await page.locator('#qr').getAttribute('src'))!, /^data:image\/svg\+xml;base64,/);
    assert.ok(await page.locator('#qr').isVisible(), 'the QR code is shown');
    if (screenshotName) await shot(page, `${screenshotName}-enrol`);
    await page.getByLabel('TOTP code').fill(await freshCode(who));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}${landing}`);
  }

  before(async () => {
    mkdirSync(screenshots, { recursive: true });
    h = await startHarness({ clock: runningClock() });
    await addTenant(h, acme);
    // Risk scoring counts the hour the suite runs at (unusual_hour) and the wrong code typed on
    // purpose below; these flows are not about risk, so only a maximal score would hold a request.
    await h.container.services.tenants.update('acme', { riskThreshold: 100 }, 'system', systemContext);
    suffix = Math.random().toString(36).slice(2, 7);
    ou = await createTestOu(acme, 'ui');
    helpdeskGroup = await ou.group(`UI-Helpdesk-${suffix}`);
    guardedGroup = await ou.group(`UI-Guarded-${suffix}`);
    plainGroup = await ou.group(`UI-Plain-${suffix}`);
    pickGroup = await ou.group(`UI-Pick-${suffix}`);
    protectGroup = await ou.group(`UI-Protect-${suffix}`);
    // Nested two deep inside Domain Admins: refused, with the path shown.
    middleGroup = await ou.group(`UI-Middle-${suffix}`);
    nestedGroup = await ou.group(`UI-Nested-${suffix}`);
    await addMember(acme, domainAdminsDn(acme), middleGroup);
    await addMember(acme, middleGroup, nestedGroup);
    const profiles = h.container.services.profiles;
    await profiles.create(
      'acme',
      {
        name: 'helpdesk',
        description: 'Password resets',
        groups: [helpdeskGroup],
        eligibleRoles: ['technician'],
        defaultDurationSeconds: 600,
        maxDurationSeconds: 1800,
      },
      'system',
      systemContext,
    );
    await profiles.create(
      'acme',
      {
        name: 'guarded',
        groups: [guardedGroup],
        eligibleRoles: ['technician'],
        defaultDurationSeconds: 600,
        maxDurationSeconds: 3600,
        requireJustification: true,
        approval: { required: 1, reapproveExtensions: true },
      },
      'system',
      systemContext,
    );
    const t = await createTechnician(h, ['technician']);
    const accountName = `msp-ui-${suffix}`;
    const accountDn = await ou.user(accountName, `Acct-${suffix}-Pw-9Z!`);
    await h.container.services.accounts.link('acme', t.id, accountName, 'system', systemContext);
    tech = { ...t, accountDn };
    approver = await createTechnician(h, ['approver']);
    await h.container.services.technicians.update(approver.id, { approverTenants: ['acme'] }, 'system', systemContext);
    auditor = await createTechnician(h, ['auditor']);
    admin = await createTechnician(h, ['admin']);
    editor = await createTechnician(h, ['admin']);
    lateAuditor = await createTechnician(h, ['auditor']);

    server = createServer(createApp(h.container).app);
    base = await listen(server);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
    techContext = await browser.newContext();
    techPage = await techContext.newPage();
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    for (const e of await h.container.store.elevations.list({ limit: 100 })) {
      if (e.state === 'active')
        await h.container.services.elevations
          .revokeByUser({ ...(await h.container.store.technicians.findById(e.technicianId))! }, e.id, systemContext)
          .catch(() => undefined);
    }
    await h.close();
    await ou.cleanup();
  });

  it('when a technician signs in for the first time, then they enrol from the QR code or the secret as text, confirm with a first code, and hold an HttpOnly SameSite=Strict session', async () => {
    await signIn(techPage, tech, 'login');
    const cookies = await techContext.cookies();
    const session = cookies.find((c) => c.name === 'stint_session');
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(cookies.find((c) => c.name === 'stint_refresh')?.httpOnly, true);
    assert.equal(
      await techPage.evaluate<boolean>(`document.cookie.includes('stint_session')`),
      false,
      'the page script cannot read the session',
    );
    await techPage.getByRole('heading', { name: 'My access' }).waitFor();
  });

  it('when the technician requests a profile, then it is active with a live countdown and the account is in the group in AD; revoking takes it out', async () => {
    const page = techPage;
    await page.getByLabel('Profile').selectOption({ label: 'acme — helpdesk' });
    assert.equal(await page.getByLabel('Duration (minutes)').inputValue(), '10', 'the profile’s default');

    // A clear error first: a wrong code is refused and the code field is marked.
    await page.getByLabel('TOTP code').fill('000000');
    await page.getByRole('button', { name: 'Request' }).click();
    const error = page.locator('#request-form [role="alert"]');
    await error.getByText('Not done').waitFor();
    assert.equal(await page.getByLabel('TOTP code').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate<string>('document.activeElement?.id'), 'request-code', 'focus moves to the field at fault');

    await page.getByLabel('Justification').fill('reset a locked mailbox');
    await page.getByLabel('Ticket').fill('INC-1234');
    await page.getByLabel('TOTP code').fill(await freshCode(tech));
    await page.getByRole('button', { name: 'Request' }).click();
    await page.getByRole('status').getByText('Granted: helpdesk in acme').waitFor();
    assert.equal(await error.textContent(), '', 'the error is gone');

    const row = page.locator('tr[data-state="active"]');
    await row.waitFor();
    activeId = (await row.getAttribute('data-elevation'))!;
    assert.equal(await row.locator('td.state').textContent(), 'Active', 'the state in words');
    const countdown = row.locator('.countdown');
    const first = (await countdown.textContent())!;
    assert.match(first, /^(9|10) min \d\d s left$/);
    // Live: the text moves on by itself (waitForFunction would need eval, which the CSP forbids).
    const deadline = Date.now() + 30_000;
    while ((await countdown.textContent()) === first) {
      assert.ok(Date.now() < deadline, 'the countdown did not move');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok((await membersOf(acme, helpdeskGroup)).includes(tech.accountDn.toLowerCase()), 'the membership is in AD');
    await shot(page, 'technician');

    // Extend: beyond the profile's maximum (30 minutes in all) is refused in words, the field marked.
    const endsBefore = (await h.container.store.elevations.findById(activeId))!.endsAt!.getTime();
    await row.getByRole('button', { name: 'Extend helpdesk in acme' }).click();
    const dialog = page.getByRole('dialog', { name: 'Extend helpdesk in acme' });
    await dialog.getByLabel('Extend by (minutes)').fill('60');
    await dialog.getByLabel('TOTP code').fill(await freshCode(tech));
    await dialog.getByRole('button', { name: 'Extend' }).click();
    await dialog
      .getByRole('alert')
      .getByText('Beyond the profile’s maximum: a grant of this profile runs 30 minutes at most in all')
      .waitFor();
    assert.equal(await dialog.getByLabel('Extend by (minutes)').getAttribute('aria-invalid'), 'true');
    await shot(page, 'technician-extend-refused');
    await dialog.getByLabel('Extend by (minutes)').fill('5');
    await dialog.getByLabel('TOTP code').fill(await freshCode(tech));
    await dialog.getByRole('button', { name: 'Extend' }).click();
    await page.locator('#list-status').getByText('helpdesk in acme: extended; it now ends').waitFor();
    assert.equal(await dialog.count(), 0, 'the dialog is closed');
    const endsAfter = (await h.container.store.elevations.findById(activeId))!.endsAt!.getTime();
    assert.equal(endsAfter - endsBefore, 5 * 60_000, 'five minutes more');

    await page.locator(`tr[data-elevation="${activeId}"]`).getByRole('button', { name: 'Revoke helpdesk in acme' }).click();
    await page.locator(`tr[data-elevation="${activeId}"][data-state="revoked"]`).waitFor();
    assert.equal(await page.locator(`tr[data-elevation="${activeId}"] td.state`).textContent(), 'Revoked');
    assert.ok(!(await membersOf(acme, helpdeskGroup)).includes(tech.accountDn.toLowerCase()), 'the membership is gone from AD');
    revokedId = activeId;
  });

  it('when a request needs approval, then a second user approves it from the queue with a TOTP code and it becomes active in AD', async () => {
    const page = techPage;
    await page.getByLabel('Profile').selectOption({ label: 'acme — guarded' });
    assert.equal(await page.getByLabel('Justification').getAttribute('required'), '', 'the profile requires a justification');
    await page.getByLabel('Justification').fill('quarterly patching');
    await page.getByLabel('TOTP code').fill(await freshCode(tech));
    await page.getByRole('button', { name: 'Request' }).click();
    await page.getByRole('status').getByText('waits for approval').waitFor();
    await page.locator('tr[data-state="pending_approval"]').getByText('0 of 1 approvals').waitFor();
    assert.ok(!(await membersOf(acme, guardedGroup)).includes(tech.accountDn.toLowerCase()), 'nothing in AD before approval');

    const approverContext = await browser.newContext();
    const approverPage = await approverContext.newPage();
    await signIn(approverPage, approver);
    await approverPage.getByRole('link', { name: 'Approvals' }).click();
    await approverPage.waitForURL(`${base}/app/approvals`);
    const request = approverPage.getByRole('article').filter({ hasText: 'guarded in acme' });
    await request.getByText('quarterly patching').waitFor();
    // The risk score as scored at request time, in words (docs/security-model.md, Risk signals).
    const stored = (await h.container.store.elevations.list({ states: ['pending_approval'], tenantIds: ['acme'] })).find(
      (e) => e.profileName === 'guarded',
    )!;
    assert.match((await request.locator('dd.risk').textContent()) ?? '', new RegExp(`^${stored.risk!.score} of 100`));
    await shot(approverPage, 'approvals');
    await request.getByLabel('TOTP code').fill(await freshCode(approver));
    await request.getByRole('button', { name: 'Approve' }).click();
    await approverPage.getByRole('status').getByText('approved and now active').waitFor();
    await approverPage.getByText('Nothing waits for your decision.').waitFor();
    assert.ok((await membersOf(acme, guardedGroup)).includes(tech.accountDn.toLowerCase()), 'the membership is in AD once approved');
    await approverContext.close();

    await page.reload();
    const row = page.locator('tr[data-state="active"]').filter({ hasText: 'guarded' });
    await row.waitFor();
    activeId = (await row.getAttribute('data-elevation'))!;

    // This profile asks for approval again before a grant is extended: the page says it waits.
    await row.getByRole('button', { name: 'Extend guarded in acme' }).click();
    const dialog = page.getByRole('dialog', { name: 'Extend guarded in acme' });
    await dialog.getByLabel('Extend by (minutes)').fill('10');
    await dialog.getByLabel('TOTP code').fill(await freshCode(tech));
    await dialog.getByRole('button', { name: 'Extend' }).click();
    await page.locator('#list-status').getByText('guarded in acme: the extension by 10 minutes is waiting for approval').waitFor();
    await row.getByText('Extension by 10 minutes: waiting for approval.').waitFor();
    await row.getByRole('button', { name: 'Cancel extension guarded in acme' }).waitFor();
    assert.equal((await h.container.store.elevations.findById(activeId))!.extension?.seconds, 600);
  });

  it('when another origin posts a form at the API with the session cookie, then it is refused (CSRF) and the grant stands', async () => {
    // Same site, other origin (another port on 127.0.0.1): the SameSite cookie is sent, so only the
    // CSRF check stands between the form and the revoke.
    const evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<form method="post" action="${base}/api/v1/elevations/${activeId}/revoke"><button>Win a prize</button></form>`);
    });
    const evilBase = await listen(evil);
    try {
      const page = await techContext.newPage();
      await page.goto(evilBase);
      const [answer] = await Promise.all([
        page.waitForResponse(`${base}/api/v1/elevations/${activeId}/revoke`),
        page.getByRole('button', { name: 'Win a prize' }).click(),
      ]);
      assert.equal(answer.status(), 403);
      assert.equal((await answer.json()).error.code, 'csrf_failed');

      // A cross-site page (localhost is another site than 127.0.0.1): the cookie is not even sent.
      await page.goto(evilBase.replace('127.0.0.1', 'localhost'));
      const [crossSite] = await Promise.all([
        page.waitForResponse(`${base}/api/v1/elevations/${activeId}/revoke`),
        page.getByRole('button', { name: 'Win a prize' }).click(),
      ]);
      assert.equal(crossSite.status(), 401);
      await page.close();
    } finally {
      await new Promise((r) => evil.close(r));
    }
    // Same origin, but without the CSRF header (a script that did not read the token): refused too.
    const bare = await techPage.evaluate(
      async (url) => (await fetch(url, { method: 'POST' })).status,
      `${base}/api/v1/elevations/${activeId}/revoke`,
    );
    assert.equal(bare, 403);
    assert.equal((await h.container.store.elevations.findById(activeId))!.state, 'active', 'the grant stands');
    assert.ok((await membersOf(acme, guardedGroup)).includes(tech.accountDn.toLowerCase()));
  });

  it('when a page is served, then a strict Content-Security-Policy comes with it and no page has an inline script', async () => {
    for (const path of [
      '/app/',
      '/app/login',
      '/app/approvals',
      '/app/audit',
      '/app/reviews',
      '/app/admin/tenants',
      '/app/admin/technicians',
      '/app/admin/profiles',
    ]) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /(^|;)script-src 'self'(;|$)/, csp);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      const html = await res.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, `${path}: every script is a file`);
    }
    const script = await fetch(`${base}/app/assets/technician.ts`);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
  });

  /** Polls a condition the page reaches by itself (waitForFunction would need eval, which the CSP forbids). */
  async function until(what: string, check: () => Promise<boolean>) {
    const deadline = Date.now() + 30_000;
    while (!(await check())) {
      assert.ok(Date.now() < deadline, `timed out waiting: ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('when an auditor searches the audit trail, then they see the request, extension and revoke made above, page through it, read an event in full and download the exports', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await signIn(page, auditor, undefined, '/app/audit');
    assert.deepEqual(
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').allTextContents(),
      ['Audit', 'Reviews'],
      'an auditor reaches the audit and reviews pages only',
    );

    // The technician is picked by name (auditors may read who is who), not typed as an id.
    await page.getByLabel('Technician', { exact: true }).selectOption({ label: `Test ${tech.username} (${tech.username})` });
    assert.equal(await page.getByLabel('Technician', { exact: true }).inputValue(), tech.id);
    await page.getByLabel('Tenant id').fill('acme');
    await page.getByRole('button', { name: 'Search' }).click();
    const rowsShown = page.locator('#events tr');
    await until('only the technician’s events', async () => {
      const all = await rowsShown.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-actor')));
      return all.length > 0 && all.every((a) => a === tech.id);
    });
    assert.deepEqual(
      [...new Set(await page.locator('#events tr td:nth-child(3)').allTextContents())],
      [`Test ${tech.username} (${tech.username})`],
      'the actor is shown by name',
    );
    const ofRevoked = page.locator('#events tr').filter({ hasText: revokedId });
    const actions = await ofRevoked.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
    for (const action of ['elevation.requested', 'elevation.extended', 'elevation.revoked'])
      assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);

    const revokedRow = ofRevoked.and(page.locator('[data-action="elevation.revoked"]'));
    const seq = (await revokedRow.getAttribute('data-seq'))!;
    await revokedRow.getByRole('button', { name: `Show event ${seq}` }).click();
    const detail = page.getByRole('region', { name: `Event ${seq}: elevation.revoked` });
    await detail.waitFor();
    assert.ok((await detail.locator('#detail-fields').textContent())!.includes(revokedId), 'the target is shown');
    assert.match((await detail.locator('#detail-json').textContent())!, /^\{/, 'the details as JSON');
    assert.equal(await page.evaluate<string>('document.activeElement?.id'), 'detail', 'focus moves to the detail');
    await shot(page, 'audit');

    // Paging: one event a page, older and back.
    await page.getByLabel('Events a page').fill('1');
    await page.getByRole('button', { name: 'Search' }).click();
    await page
      .locator('#results-status')
      .getByText(/^Page 1: events \d+ to \d+\.$/)
      .waitFor();
    const firstSeq = await page.locator('#events tr').getAttribute('data-seq');
    await page.getByRole('button', { name: 'Older events' }).click();
    await page
      .locator('#results-status')
      .getByText(/^Page 2:/)
      .waitFor();
    assert.ok(Number(await page.locator('#events tr').getAttribute('data-seq')) < Number(firstSeq));
    await page.getByRole('button', { name: 'Newer events' }).click();
    await page
      .locator('#results-status')
      .getByText(/^Page 1:/)
      .waitFor();
    assert.equal(await page.locator('#events tr').getAttribute('data-seq'), firstSeq);

    // Exports with the same filters: the audit trail (CSV, signed manifest last) and the elevation history.
    const [auditCsv] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Audit trail, CSV' }).click()]);
    assert.match(auditCsv.suggestedFilename(), /^stint-audit-\d+-\d+\.csv$/);
    const auditText = readFileSync((await auditCsv.path())!, 'utf8');
    assert.ok(auditText.includes(revokedId) && auditText.includes('elevation.revoked'), 'the revoke is in the export');
    const [history] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Elevation history, CSV' }).click(),
    ]);
    const historyText = readFileSync((await history.path())!, 'utf8');
    assert.ok(historyText.includes(revokedId), 'the revoked grant is in the history');
    await context.close();
  });

  it('when an auditor starts a review of a tenant, then its findings show by severity, it is signed off with a TOTP code and the exports are linked', async () => {
    const reviewer = await createTechnician(h, ['auditor']);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, reviewer, undefined, '/app/audit');
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Reviews' }).click();
    await page.waitForURL(`${base}/app/reviews`);
    await page.getByLabel('Tenant id').fill('acme');
    await page.getByRole('button', { name: 'Start review' }).click();
    await page.getByRole('status').getByText('A review of acme is queued').waitFor();
    // No worker runs in this file: run the queued review as the reviews worker would.
    const [queued] = await h.container.services.reviews.list({ tenantId: 'acme', limit: 1 });
    assert.equal(queued?.status, 'queued');
    await h.container.services.reviews.run(queued!.id);
    await page.reload();
    await page
      .locator(`tr[data-review="${queued!.id}"]`)
      .getByRole('button', { name: /Open the review of acme/ })
      .click();
    await page.locator('#detail-fields').getByText('completed').waitFor();
    const { findings } = await h.container.services.reviews.get(queued!.id);
    assert.ok(findings.length > 0);
    for (const severity of new Set(findings.map((f) => f.severity))) {
      assert.equal(
        await page.locator(`section[data-severity="${severity}"] tbody tr`).count(),
        findings.filter((f) => f.severity === severity).length,
        severity,
      );
    }
    assert.equal(await page.locator('#export-csv').getAttribute('href'), `/api/v1/reviews/${queued!.id}/export?format=csv`);
    await shot(page, 'reviews');
    await page.getByRole('button', { name: 'Sign off…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sign off the review of acme' });
    await dialog.getByLabel('Comment (optional)').fill('Discussed with the client');
    await dialog.getByLabel('TOTP code').fill('000000');
    await dialog.getByRole('button', { name: 'Sign off' }).click();
    await dialog.getByRole('alert').getByText('The code is not valid').waitFor();
    assert.equal((await h.container.store.reviews.findById(queued!.id))!.signedOffBy, null);
    await dialog.getByLabel('TOTP code').fill(await freshCode(reviewer));
    await dialog.getByRole('button', { name: 'Sign off' }).click();
    await page.getByRole('status').getByText('The review of acme is signed off.').waitFor();
    assert.equal((await h.container.store.reviews.findById(queued!.id))!.signedOffBy, reviewer.id);
    assert.equal(await page.getByRole('button', { name: 'Sign off…' }).isHidden(), true);
    await context.close();
  });

  it('when an admin creates a profile, then a clean group is accepted and a group nested in Domain Admins is refused with the reason and the nesting path; the tenant check and kill switch work', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, admin, undefined, '/app/audit');

    await page.getByRole('link', { name: 'Tenants' }).click();
    await page.waitForURL(`${base}/app/admin/tenants`);
    await page.getByRole('button', { name: 'Check the connection of acme' }).click();
    await page
      .locator('tr[data-tenant="acme"] .check-result')
      .getByText(/^Connected: bound and found /)
      .waitFor();
    await shot(page, 'admin-tenants');

    // The tenant's own protected groups: a group that is not there is refused in words; one that is
    // is listed, stored, and taken off the list again.
    await page.getByRole('button', { name: 'Protected groups of acme' }).click();
    const guard = page.locator('#protected');
    await guard.getByRole('heading', { name: /^Protected groups of .+ \(acme\)$/ }).waitFor();
    await guard.getByLabel('Group DN or objectGUID').fill(`CN=UI-Missing-${suffix},${acme.baseDn}`);
    await guard.getByRole('button', { name: 'Protect this group' }).click();
    await guard
      .getByRole('alert')
      .getByText(/^Not done: /)
      .waitFor();
    assert.equal((await h.container.store.protectedGroups.listForTenant('acme')).length, 0, 'nothing stored');
    await guard.getByLabel('Group DN or objectGUID').fill(protectGroup);
    await guard.getByRole('button', { name: 'Protect this group' }).click();
    await guard.getByRole('status').getByText(`UI-Protect-${suffix} is protected in acme from now on.`).waitFor();
    await guard
      .locator('li')
      .filter({ hasText: `UI-Protect-${suffix}` })
      .waitFor();
    assert.deepEqual(
      (await h.container.store.protectedGroups.listForTenant('acme')).map((g) => g.dn.toLowerCase()),
      [protectGroup.toLowerCase()],
    );
    await shot(page, 'admin-tenant-protected-groups');
    await guard.getByRole('button', { name: `Stop protecting UI-Protect-${suffix}` }).click();
    await guard.getByRole('status').getByText(`UI-Protect-${suffix} is no longer protected in acme.`).waitFor();
    assert.equal((await h.container.store.protectedGroups.listForTenant('acme')).length, 0);

    await page.getByRole('link', { name: 'Profiles' }).click();
    await page.waitForURL(`${base}/app/admin/profiles`);
    await page.getByLabel('Tenant').selectOption('acme');
    await page.locator('tr[data-profile="helpdesk"]').waitFor();
    await page.getByLabel('Name', { exact: true }).fill(`ui-made-${suffix}`);
    await page.getByLabel('Groups (one DN a line)').fill(plainGroup);
    await page.getByRole('button', { name: 'Create profile' }).click();
    await page.locator('#profiles-status').getByText(`Created ui-made-${suffix} in acme`).waitFor();
    await page.locator(`tr[data-profile="ui-made-${suffix}"]`).getByText(`UI-Plain-${suffix}`).waitFor();

    await page.getByLabel('Name', { exact: true }).fill(`ui-refused-${suffix}`);
    await page.getByLabel('Groups (one DN a line)').fill(nestedGroup);
    await page.getByRole('button', { name: 'Create profile' }).click();
    const finding = page.locator('#protected-finding');
    await finding.getByText('Refused: a protected group.').waitFor();
    assert.match((await finding.textContent())!, /Domain Admins/);
    assert.match((await finding.locator('dl').textContent())!, /Reason.+/, 'the reason is named');
    const path = (await finding.locator('ol.nesting li').allTextContents()).map((p) => p.toLowerCase());
    assert.deepEqual(
      path,
      [nestedGroup, middleGroup, domainAdminsDn(acme)].map((p) => p.toLowerCase()),
      'the nesting path, group first',
    );
    assert.equal(await page.getByLabel('Groups (one DN a line)').getAttribute('aria-invalid'), 'true');
    assert.equal(await h.container.store.profiles.findByName('acme', `ui-refused-${suffix}`), null, 'nothing created');
    await shot(page, 'admin-profiles');

    // The technician kill switch: a confirmation naming what ends, a TOTP code; the grant is gone from AD.
    await page.getByRole('link', { name: 'Technicians' }).click();
    await page.waitForURL(`${base}/app/admin/technicians`);
    const card = page.locator(`article[data-technician="${tech.id}"]`);
    await card.getByText(`acme: msp-ui-${suffix}`).waitFor();
    await shot(page, 'admin-technicians');
    await card.getByRole('button', { name: `Kill switch for ${tech.username}` }).click();
    const dialog = page.getByRole('dialog', { name: `Kill switch: Test ${tech.username}` });
    await dialog.getByText('every grant they hold ends now').waitFor();
    await dialog.getByLabel('Reason (recorded in the audit trail; optional)').fill('lost laptop');
    await dialog.getByLabel('TOTP code').fill(await freshCode(admin));
    await shot(page, 'admin-kill-switch');
    await dialog.getByRole('button', { name: `Suspend ${tech.username} and end their access` }).click();
    await page.locator('#technicians-status').getByText(`Kill switch for ${tech.username}: suspended`).waitFor();
    await card.getByText('Suspended').waitFor();
    assert.ok(!(await membersOf(acme, guardedGroup)).includes(tech.accountDn.toLowerCase()), 'the grant is gone from AD');
    await context.close();
  });
  it('when an admin searches the directory for groups, then Domain Admins and a group nested in it are refused with the reason, and a picked group makes a profile that can be edited and deleted', async () => {
    const context = await browser.newContext();
    editorPage = await context.newPage();
    const page = editorPage;
    await signIn(page, editor, undefined, '/app/audit');
    await page.getByRole('link', { name: 'Profiles' }).click();
    await page.waitForURL(`${base}/app/admin/profiles`);
    await page.getByLabel('Tenant').selectOption('acme');
    await page.locator('tr[data-profile="helpdesk"]').waitFor();

    const search = page.getByLabel('Group name contains');
    const results = page.locator('#group-results');
    await search.fill('Domain Admins');
    await search.press('Enter');
    const domainAdmins = results.locator('li[data-protected="true"]').filter({ hasText: /^Domain Admins/ });
    await domainAdmins.waitFor();
    assert.match((await domainAdmins.textContent())!, /Refused: protected — Domain Admins \(RID 512\)/);
    assert.equal(await results.getByRole('button', { name: 'Add Domain Admins' }).count(), 0, 'a protected group cannot be added');
    assert.equal(await page.getByLabel('Groups (one DN a line)').inputValue(), '', 'Enter searched; it did not submit the form');
    await page
      .locator('#group-results-status')
      .getByText(/refused as protected/)
      .waitFor();

    await search.fill(`UI-Nested-${suffix}`);
    await page.getByRole('button', { name: 'Search groups' }).click();
    const nested = results.locator('li[data-protected="true"]').filter({ hasText: `UI-Nested-${suffix}` });
    await nested.waitFor();
    assert.match((await nested.textContent())!, /Refused: protected — Domain Admins \(RID 512\).*nested: .*UI-Middle-/);
    await shot(page, 'admin-profiles-search-refused');

    await search.fill(`UI-Pick-${suffix}`);
    await search.press('Enter');
    const add = results.getByRole('button', { name: `Add UI-Pick-${suffix}` });
    await add.click();
    assert.equal(
      (await page.getByLabel('Groups (one DN a line)').inputValue()).toLowerCase(),
      pickGroup.toLowerCase(),
      'the picked group’s DN',
    );
    assert.equal(await add.isDisabled(), true, 'added once');
    const name = `ui-picked-${suffix}`;
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create profile' }).click();
    await page.locator('#profiles-status').getByText(`Created ${name} in acme, granting UI-Pick-${suffix}`).waitFor();
    const row = page.locator(`tr[data-profile="${name}"]`);
    await row.getByText(`UI-Pick-${suffix}`).waitFor();
    const created = (await h.container.store.profiles.findByName('acme', name))!;
    assert.equal(created.groups[0]!.dn.toLowerCase(), pickGroup.toLowerCase());

    // Edit: the form is filled from the profile; a change is saved, a protected group is refused.
    await row.getByRole('button', { name: `Edit ${name}` }).click();
    await page.getByRole('heading', { name: `Edit profile ${name}` }).waitFor();
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), name);
    assert.equal(await page.getByLabel('Default duration (minutes)').inputValue(), '60');
    await page.getByLabel('Description').fill('edited from the browser');
    await page.getByLabel('Default duration (minutes)').fill('30');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.locator('#profiles-status').getByText(`Saved ${name} in acme`).waitFor();
    const saved = (await h.container.store.profiles.findById(created.id))!;
    assert.equal(saved.description, 'edited from the browser');
    assert.equal(saved.defaultDurationSeconds, 1800);
    assert.equal(saved.maxDurationSeconds, created.maxDurationSeconds, 'the rest unchanged');

    await row.getByRole('button', { name: `Edit ${name}` }).click();
    await page.getByLabel('Groups (one DN a line)').fill(`${pickGroup}\n${nestedGroup}`);
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.locator('#protected-finding').getByText('Refused: a protected group.').waitFor();
    assert.equal((await h.container.store.profiles.findById(created.id))!.groups.length, 1, 'nothing changed');
    await page.getByRole('button', { name: 'Cancel edit' }).click();
    await page.getByRole('heading', { name: 'Create a profile' }).waitFor();

    // Delete, after a confirmation.
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: `Delete ${name}` }).click();
    await page.locator('#profiles-status').getByText(`Deleted ${name} in acme.`).waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal(await h.container.store.profiles.findById(created.id), null, 'deleted');
  });

  it('when an admin adds a tenant, then a wrong bind password is refused by the connection check and nothing is saved; the right one is saved with the check shown, and the password is never shown again', async () => {
    const page = editorPage;
    await page.getByRole('link', { name: 'Tenants' }).click();
    await page.waitForURL(`${base}/app/admin/tenants`);
    const id = `ui-t-${suffix}`;
    await page.getByLabel('Tenant id').fill(id);
    await page.getByLabel('Display name').fill(`UI Tenant ${suffix}`);
    await page.getByLabel('Time zone').fill('Europe/London');
    await page.getByLabel('Directory URL').fill(acme.ldapsUrl);
    await page.getByLabel('Bind DN').fill(acme.bindDn);
    await page.getByLabel('Bind password').fill('not-the-password');
    await page.getByLabel('Base DN').fill(acme.baseDn);
    await page.getByLabel('CA certificate (PEM)').fill(readFileSync(acme.caFile, 'utf8'));
    await page.getByRole('button', { name: 'Check and add tenant' }).click();
    const check = page.locator('#tenant-check');
    await check.getByText(/^Not saved\. /).waitFor();
    assert.equal(await check.getAttribute('data-result'), 'failed');
    assert.equal(await h.container.store.tenants.findById(id), null, 'nothing saved');
    await shot(page, 'admin-tenants-refused');

    await page.getByLabel('Bind password').fill(acme.bindPassword);
    await page.getByRole('button', { name: 'Check and add tenant' }).click();
    await check
      .getByText(`Added UI Tenant ${suffix} (${id}). Connection checked: LDAPS verified, bound, and found ${acme.baseDn} in`)
      .waitFor();
    assert.equal(await check.getAttribute('data-result'), 'ok');
    const row = page.locator(`tr[data-tenant="${id}"]`);
    await row.getByText('Europe/London').waitFor();
    assert.equal((await h.container.store.tenants.findById(id))!.directory.baseDn, acme.baseDn);
    assert.equal(await page.getByLabel('Bind password').inputValue(), '', 'the password is cleared from the page');
    await shot(page, 'admin-tenants-added');

    // Edit: the password field stays empty (write-only); an unchanged connection is not re-checked.
    await row.getByRole('button', { name: `Edit ${id}` }).click();
    await page.getByRole('heading', { name: `Edit tenant ${id}` }).waitFor();
    assert.equal(await page.getByLabel('Bind password').inputValue(), '', 'never echoed back');
    assert.equal(await page.getByLabel('Bind DN').inputValue(), acme.bindDn);
    const listed = await page.evaluate(async () => (await fetch('/api/v1/tenants')).text());
    assert.ok(!listed.includes(acme.bindPassword), 'the API never returns the bind password');
    await page.getByLabel('Display name').fill(`UI Tenant ${suffix} renamed`);
    await page.getByRole('button', { name: 'Save tenant' }).click();
    await check
      .getByText(`Saved UI Tenant ${suffix} renamed (${id}). The connection was not changed, so it was not checked again.`)
      .waitFor();
    assert.equal((await h.container.store.tenants.findById(id))!.displayName, `UI Tenant ${suffix} renamed`);
    await row.getByText(`UI Tenant ${suffix} renamed`).waitFor();
  });

  it('when an admin adds a technician with roles and approver tenants, then they are created and their account in a tenant can be linked at once', async () => {
    const page = editorPage;
    await page.getByRole('link', { name: 'Technicians' }).click();
    await page.waitForURL(`${base}/app/admin/technicians`);
    const username = `ui-new-${suffix}`;
    // A username already taken is refused in words, and nothing is created.
    const before = (await h.container.store.technicians.list()).length;
    await page.getByLabel('Username').fill(editor.username);
    await page.getByLabel('Display name').fill(`UI New ${suffix}`);
    await page.getByLabel('Email').fill(`${username}@example.test`);
    await page.getByLabel('approver (for the tenants below)').check();
    await page.locator('#new-approver-tenants').getByLabel('acme (acme)').check();
    await page.getByLabel('Initial password (Stint password only)').fill(`pw-${username}-long-enough`);
    await page.getByRole('button', { name: 'Add technician' }).click();
    await page.locator('#create-form [role="alert"]').getByText('Not done').waitFor();
    assert.equal((await h.container.store.technicians.list()).length, before, 'nothing created');

    await page.getByLabel('Username').fill(username);
    await page.getByRole('button', { name: 'Add technician' }).click();
    await page
      .locator('#technicians-status')
      .getByText(`Added UI New ${suffix} (${username}) as technician, approver, approving for acme.`)
      .waitFor();
    const made = (await h.container.store.technicians.findByUsername(username))!;
    assert.deepEqual([...made.roles].sort(), ['approver', 'technician']);
    assert.deepEqual(made.approverTenants, ['acme']);
    const card = page.locator(`article[data-technician="${made.id}"]`);
    await card.getByText('Linked accounts').waitFor();

    assert.equal(await page.getByLabel('Technician', { exact: true }).inputValue(), made.id, 'the link form names the new technician');
    const accountName = `msp-new-${suffix}`;
    await ou.user(accountName, `Acct-${suffix}-Pw-9Z!`);
    await page.locator('#link-form').getByLabel('Tenant', { exact: true }).selectOption('acme');
    await page.getByLabel("Their account in the tenant's domain").fill(accountName);
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await card.getByText(`acme: ${accountName}`).waitFor();
    assert.equal((await h.container.store.accounts.find('acme', made.id))?.samAccountName, accountName);
    await shot(page, 'admin-technicians-added');
    await editorPage.context().close();
  });

  it('when the access token has lapsed, then the audit page still downloads its exports on the session (refreshed first), where a bare request is refused', async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await signIn(page, lateAuditor, undefined, '/app/audit');
    await page.locator('#events tr').first().waitFor();
    // Past the access token's 15 minutes, within the refresh token's 30 idle minutes.
    h.clock.advance(16 * 60_000);
    try {
      const bare = await page.evaluate(async () => {
        const res = await fetch('/api/v1/audit/export?format=ndjson');
        return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
      });
      assert.deepEqual(bare, { status: 401, code: 'token_invalid' }, 'the access token has lapsed');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Audit trail, NDJSON' }).click(),
      ]);
      assert.match(download.suggestedFilename(), /^stint-audit-\d+-\d+\.ndjson$/, 'saved under the server’s file name');
      const lines = readFileSync((await download.path())!, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { record: string; action?: string });
      assert.ok(
        lines.some((l) => l.action === 'elevation.revoked'),
        'the trail is in it',
      );
      assert.equal(lines[lines.length - 1]!.record, 'manifest', 'whole, with the signed manifest last');
      await page
        .locator('#export-status')
        .getByText(/^Downloaded .+\.ndjson \(/)
        .waitFor();
      await shot(page, 'audit-export-after-lapse');
    } finally {
      h.clock.advance(-16 * 60_000);
      await context.close();
    }
  });
});
