// The web UI in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) against
// the real server: real store, real Redis, the real acme Samba domain. Real time throughout, so the
// page's countdown and the test's TOTP codes agree with the server; each TOTP use takes a later
// 30 s step than the one before (previous, current, next: all inside the ±1 window).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { totpCodeAt } from '../../src/adapters/crypto/totp.ts';
import { createApp } from '../../src/http/app.ts';
import { systemContext } from '../../src/services/context.ts';
import { runningClock } from '../support/clock.ts';
import { createTestOu, membersOf } from '../support/directory.ts';
import { createTechnician, type TestTechnician } from '../support/factories.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { repoRoot, testServices } from '../support/services.ts';
import { addTenant } from '../support/world.ts';

const { acme } = testServices().domains;
const screenshots = join(repoRoot, 'test-output', 'screenshots');

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** Waits until the current TOTP step has at least 5 s left, so a code made now is judged in the same step. */
async function awayFromStepEdge(): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 200));
}

/** The code for the step `offset` steps from now (−1, 0 or +1). */
const codeAt = (secret: string, offset: -1 | 0 | 1) => totpCodeAt(secret, new Date(Date.now() + offset * 30_000));

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
  let techContext: BrowserContext;
  let techPage: Page;
  let activeId = '';

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  }

  /** Signs in through the login page; at first login enrols and keeps the secret shown as text. */
  async function signIn(page: Page, who: TestTechnician, screenshotName?: string) {
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
    await awayFromStepEdge();
    await page.getByLabel('TOTP code').fill(await codeAt(who.totpSecret, -1));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/app/`);
  }

  before(async () => {
    mkdirSync(screenshots, { recursive: true });
    h = await startHarness({ clock: runningClock() });
    await addTenant(h, acme);
    const suffix = Math.random().toString(36).slice(2, 7);
    ou = await createTestOu(acme, 'ui');
    helpdeskGroup = await ou.group(`UI-Helpdesk-${suffix}`);
    guardedGroup = await ou.group(`UI-Guarded-${suffix}`);
    const profiles = h.container.services.profiles;
    await profiles.create('acme', { name: 'helpdesk', description: 'Password resets', groups: [helpdeskGroup], eligibleRoles: ['technician'], defaultDurationSeconds: 600, maxDurationSeconds: 1800 }, 'system', systemContext);
    await profiles.create('acme', { name: 'guarded', groups: [guardedGroup], eligibleRoles: ['technician'], defaultDurationSeconds: 600, maxDurationSeconds: 3600, requireJustification: true, approval: { required: 1 } }, 'system', systemContext);
    const t = await createTechnician(h, ['technician']);
    const accountName = `msp-ui-${suffix}`;
    const accountDn = await ou.user(accountName, `Acct-${suffix}-Pw-9Z!`);
    await h.container.services.accounts.link('acme', t.id, accountName, 'system', systemContext);
    tech = { ...t, accountDn };
    approver = await createTechnician(h, ['approver']);
    await h.container.services.technicians.update(approver.id, { approverTenants: ['acme'] }, 'system', systemContext);

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
      if (e.state === 'active') await h.container.services.elevations.revokeByUser({ ...(await h.container.store.technicians.findById(e.technicianId))! }, e.id, systemContext).catch(() => undefined);
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
    assert.equal(await techPage.evaluate<boolean>(`document.cookie.includes('stint_session')`), false, 'the page script cannot read the session');
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
    await awayFromStepEdge();
    await page.getByLabel('TOTP code').fill(await codeAt(tech.totpSecret!, 0));
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
    const deadline = Date.now() + 5_000;
    while ((await countdown.textContent()) === first) {
      assert.ok(Date.now() < deadline, 'the countdown did not move');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok((await membersOf(acme, helpdeskGroup)).includes(tech.accountDn.toLowerCase()), 'the membership is in AD');
    await shot(page, 'technician');

    await row.getByRole('button', { name: 'Revoke helpdesk in acme' }).click();
    await page.locator(`tr[data-elevation="${activeId}"][data-state="revoked"]`).waitFor();
    assert.equal(await page.locator(`tr[data-elevation="${activeId}"] td.state`).textContent(), 'Revoked');
    assert.ok(!(await membersOf(acme, helpdeskGroup)).includes(tech.accountDn.toLowerCase()), 'the membership is gone from AD');
  });

  it('when a request needs approval, then a second user approves it from the queue with a TOTP code and it becomes active in AD', async () => {
    const page = techPage;
    await page.getByLabel('Profile').selectOption({ label: 'acme — guarded' });
    assert.equal(await page.getByLabel('Justification').getAttribute('required'), '', 'the profile requires a justification');
    await page.getByLabel('Justification').fill('quarterly patching');
    await awayFromStepEdge();
    await page.getByLabel('TOTP code').fill(await codeAt(tech.totpSecret!, 1));
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
    await shot(approverPage, 'approvals');
    await awayFromStepEdge();
    await request.getByLabel('TOTP code').fill(await codeAt(approver.totpSecret!, 0));
    await request.getByRole('button', { name: 'Approve' }).click();
    await approverPage.getByRole('status').getByText('approved and now active').waitFor();
    await approverPage.getByText('Nothing waits for your decision.').waitFor();
    assert.ok((await membersOf(acme, guardedGroup)).includes(tech.accountDn.toLowerCase()), 'the membership is in AD once approved');
    await approverContext.close();

    await page.reload();
    const row = page.locator('tr[data-state="active"]').filter({ hasText: 'guarded' });
    await row.waitFor();
    activeId = (await row.getAttribute('data-elevation'))!;
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
      const [answer] = await Promise.all([page.waitForResponse(`${base}/api/v1/elevations/${activeId}/revoke`), page.getByRole('button', { name: 'Win a prize' }).click()]);
      assert.equal(answer.status(), 403);
      assert.equal((await answer.json()).error.code, 'csrf_failed');

      // A cross-site page (localhost is another site than 127.0.0.1): the cookie is not even sent.
      await page.goto(evilBase.replace('127.0.0.1', 'localhost'));
      const [crossSite] = await Promise.all([page.waitForResponse(`${base}/api/v1/elevations/${activeId}/revoke`), page.getByRole('button', { name: 'Win a prize' }).click()]);
      assert.equal(crossSite.status(), 401);
      await page.close();
    } finally {
      await new Promise((r) => evil.close(r));
    }
    // Same origin, but without the CSRF header (a script that did not read the token): refused too.
    const bare = await techPage.evaluate(async (url) => (await fetch(url, { method: 'POST' })).status, `${base}/api/v1/elevations/${activeId}/revoke`);
    assert.equal(bare, 403);
    assert.equal((await h.container.store.elevations.findById(activeId))!.state, 'active', 'the grant stands');
    assert.ok((await membersOf(acme, guardedGroup)).includes(tech.accountDn.toLowerCase()));
  });

  it('when a page is served, then a strict Content-Security-Policy comes with it and no page has an inline script', async () => {
    for (const path of ['/app/', '/app/login', '/app/approvals']) {
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
});
