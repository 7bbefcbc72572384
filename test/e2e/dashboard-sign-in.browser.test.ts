import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { totpCode, type LocalUser } from '../../local/sign-in.js';
import {
  ARTIFACTS,
  dashboardPage,
  downloadReport,
  launchChromium,
  pageProblems,
  requireChromium,
  resultOf,
} from './browser.js';
import { startLiveRuntime } from './live-runtime.js';

/**
 * 100 simulated minutes take in the acme search-cost spike (minute 80). Its soft steps are configured to wait for an
 * operator (`mitigation.stepApproval`) and nobody else answers (`--no-auto-approve`): the operator approves it on the
 * page, whatever the closed loop's timing.
 */
const MINUTES = 100;
const CONTEXT = {
  mitigation: {
    stepApproval: {
      'search-cost/cache-ttl': 'required',
      'search-cost/rows-limit': 'required',
      'search-cost/facet-limit': 'required',
    },
  },
};

interface Approval {
  key: string;
  status: string;
  tenant: string;
  decidedBy?: string;
}

/** A code the authenticator would not show now (any other six digits). */
const wrongCode = (secret: string) => (totpCode(secret) === '000000' ? '000001' : '000000');

async function signIn(page: Page, user: LocalUser): Promise<void> {
  await page.locator('[data-testid=sign-in-form]').waitFor({ timeout: 10_000 });
  await page.fill('[data-testid=sign-in-email]', user.email);
  await page.fill('[data-testid=sign-in-password]', user.password);
  await page.click('[data-testid=sign-in-submit]');
  await page.locator('[data-testid=mfa-form]').waitFor({ timeout: 10_000 });
  await page.fill('[data-testid=mfa-code]', totpCode(user.totpSecret));
  await page.click('[data-testid=mfa-submit]');
  await expect
    .poll(() => page.locator('[data-testid=who]').textContent(), { timeout: 10_000 })
    .toBe(`${user.email} · ${user.role}`);
}

/** A request from the page itself with the signed-in user's ID token (held in the page's memory only). */
function fetchAsPage(page: Page, path: string, body: unknown) {
  return page.evaluate(
    async ({ path, body }) => {
      // The page's own state (a top-level binding of its script).
      const token = (globalThis as unknown as { eval(code: string): unknown }).eval('auth.tokens.id') as string;
      const res = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', Authorization: token },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    { path, body },
  );
}

describe('the operator dashboard with sign-in, in a real browser', () => {
  it('signs in with password and TOTP; a viewer reads and dry-runs but cannot mutate (403); an operator approves, ' +
    'rolls back and downloads a report; wrong password or code is refused', async () => {
    requireChromium();
    const runtime = await startLiveRuntime('ag-dashboard-sign-in-', {
      minutes: MINUTES,
      auth: true,
      autoApprove: false,
      context: CONTEXT,
    });
    const { base, out } = runtime;
    let browser: Browser | undefined;
    try {
      const signInInfo = runtime.signIn!;
      expect(signInInfo).toBeDefined();
      const viewer = signInInfo.users.find((u) => u.role === 'viewer')!;
      const operator = signInInfo.users.find((u) => u.role === 'operator')!;
      // Printed once for the person at the terminal.
      expect(runtime.lines.some((l) => l.includes(viewer.email) && l.includes(viewer.password))).toBe(true);
      // Machines (the test, like the CLI) use the machine key; nothing without it.
      const machine = { 'x-local-machine-key': signInInfo.machineKey };
      expect((await fetch(`${base}/v1/anomaly/report?range=24h`)).status).toBe(401);
      const report = async () =>
        (await (await fetch(`${base}/v1/anomaly/report?range=24h`, { headers: machine })).json()) as {
          approvals?: Approval[];
        };

      browser = await launchChromium();
      const page = await dashboardPage(browser);
      // Refused requests (401, 403, Cognito's 400s) are logged by the browser as failed loads; anything else is a bug.
      const problems = pageProblems(
        page,
        /Failed to load resource: the server responded with a status of (400|401|403)/,
      );
      let dialogs = 0;
      page.on('dialog', (d) => {
        dialogs++;
        void (d.type() === 'prompt' ? d.accept('approved from the signed-in dashboard test') : d.accept());
      });
      mkdirSync(ARTIFACTS, { recursive: true });

      // Signed out: only the sign-in form; the API answers 401 to the page too.
      await page.goto(`${base}/`);
      await page.locator('[data-testid=sign-in-form]').waitFor({ timeout: 10_000 });
      expect(await page.locator('#dashboard').isVisible()).toBe(false);
      expect(await page.evaluate(async () => (await fetch('/v1/anomaly/report')).status)).toBe(401);

      // A wrong password, then a wrong code: each refused with a message, nothing shown.
      await page.fill('[data-testid=sign-in-email]', viewer.email);
      await page.fill('[data-testid=sign-in-password]', `${viewer.password}x`);
      await page.click('[data-testid=sign-in-submit]');
      await expect
        .poll(() => page.locator('[data-testid=sign-in-error]').textContent(), { timeout: 10_000 })
        .toMatch(/^Wrong e-mail or password/);
      await page.fill('[data-testid=sign-in-password]', viewer.password);
      await page.click('[data-testid=sign-in-submit]');
      await page.locator('[data-testid=mfa-form]').waitFor({ timeout: 10_000 });
      await page.fill('[data-testid=mfa-code]', wrongCode(viewer.totpSecret));
      await page.click('[data-testid=mfa-submit]');
      await expect
        .poll(() => page.locator('[data-testid=sign-in-error]').textContent(), { timeout: 10_000 })
        .toMatch(/^Wrong code/);
      expect(await page.locator('#dashboard').isVisible()).toBe(false);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-sign-in.png') });
      // The right code, on the same challenge.
      await page.fill('[data-testid=mfa-code]', totpCode(viewer.totpSecret));
      await page.click('[data-testid=mfa-submit]');
      await expect
        .poll(() => page.locator('[data-testid=who]').textContent(), { timeout: 10_000 })
        .toBe(`${viewer.email} · viewer`);

      // The viewer: the overview and the anomalies, no operator buttons, a dry run.
      await expect.poll(() => page.locator('[data-testid=grid-cell]').count(), { timeout: 20_000 }).toBeGreaterThan(0);
      await expect.poll(() => page.locator('[data-testid=dry-run]').count(), { timeout: 20_000 }).toBeGreaterThan(0);
      expect(await page.locator('[data-testid=mitigate]').count()).toBeGreaterThan(0);
      for (const id of ['mitigate', 'rollback', 'feedback', 'approve', 'deny', 'action-rollback'])
        for (const b of await page.locator(`[data-testid=${id}]`).all())
          expect(await b.isVisible(), `${id} is hidden from a viewer`).toBe(false);
      await page.locator('[data-testid=dry-run]').first().click();
      const dry = await resultOf(page, 'POST /v1/anomaly/mitigate (dry run)');
      expect(dry.head).toBe('POST /v1/anomaly/mitigate (dry run) → HTTP 200');
      expect(dry.body).toMatchObject({ dryRun: true, decision: { allowed: expect.any(Boolean) } });
      // The API refuses what the page hides, and the page says so where it cannot be missed.
      const episode = dry.body.key as string;
      const refused = await fetchAsPage(page, '/v1/anomaly/mitigate', { key: episode });
      expect(refused).toMatchObject({ status: 403, body: { error: { code: 'Forbidden' } } });
      expect(
        await fetchAsPage(page, '/v1/anomaly/policy/whitelist', {
          tenant: 'acme',
          window: { from: Date.now(), to: Date.now() + 3_600_000 },
        }),
      ).toMatchObject({ status: 403 });
      await page.evaluate(() =>
        // The page's own functions: a refusal shown as the page shows it.
        (globalThis as unknown as { eval(code: string): unknown }).eval(
          "post('/v1/anomaly/rollback', { key: 'rb-00000000' }).then((r) => show('POST /v1/anomaly/rollback', r))",
        ),
      );
      await expect
        .poll(() => page.locator('[data-testid=notice]').textContent(), { timeout: 10_000 })
        .toMatch(/POST \/v1\/anomaly\/rollback: refused \(HTTP 403 Forbidden\) — .*operator/);
      expect(await page.locator('[data-testid=notice]').isVisible()).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-viewer.png'), fullPage: true });

      // Sign out: the tokens and what was shown are gone.
      await page.click('[data-testid=sign-out]');
      await page.locator('[data-testid=sign-in-form]').waitFor({ timeout: 10_000 });
      expect(await page.locator('#dashboard').isVisible()).toBe(false);
      expect(await page.evaluate(() => (globalThis as { eval(s: string): unknown }).eval('auth.tokens'))).toBeNull();

      // The operator: approves the pending request (the simulated on-call is off), then rolls back what it applied.
      await signIn(page, operator);
      expect(await page.locator('body').getAttribute('data-role')).toBe('operator');
      // The tokens are refreshed before they expire (REFRESH_TOKEN_AUTH): a new ID token, still accepted.
      const pageEval = (code: string) =>
        page.evaluate((c) => (globalThis as unknown as { eval(code: string): unknown }).eval(c), code);
      const firstToken = await pageEval('auth.tokens.id');
      expect(await pageEval('refreshTokens()')).toBe(true);
      expect(await pageEval('auth.tokens.id')).not.toBe(firstToken);
      expect(
        await pageEval(
          "fetch('/v1/anomaly/report', { headers: { Authorization: auth.tokens.id } }).then((r) => r.status)",
        ),
      ).toBe(200);
      let pending: Approval | undefined;
      await expect
        .poll(async () => (pending = (await report()).approvals?.find((a) => a.status === 'pending')), {
          timeout: 60_000,
          interval: 1000,
        })
        .toBeDefined();
      await page.locator('#refresh').click();
      const row = page.locator(`[data-testid=approval][data-approval="${pending!.key}"]`);
      await row.locator('[data-testid=approve]').waitFor({ timeout: 20_000 });
      expect(await row.locator('[data-testid=approve]').isVisible()).toBe(true);
      await row.locator('[data-testid=approve]').click();
      const approved = await resultOf(page, 'POST /v1/anomaly/approve (approve) →');
      expect(approved.head).toBe('POST /v1/anomaly/approve (approve) → HTTP 200');
      expect(approved.body).toMatchObject({ key: pending!.key, status: 'approved' });
      expect(dialogs).toBe(2);
      const decided = (await report()).approvals?.find((a) => a.key === pending!.key);
      expect(decided).toMatchObject({ status: 'approved' });
      // Recorded as the signed-in user, not as an anonymous local caller.
      expect(decided?.decidedBy).toContain(operator.email);

      // Roll back: the approved tenant's episode, from its row in the anomalies table.
      await page.selectOption('#tenant', pending!.tenant);
      const rollback = page.locator('#anomalies [data-testid=rollback]').first();
      await rollback.waitFor({ timeout: 20_000 });
      await rollback.click();
      const rolledBack = await resultOf(page, 'POST /v1/anomaly/rollback →');
      expect(rolledBack.head).toBe('POST /v1/anomaly/rollback → HTTP 202');

      // One click saves a report.
      expect(await downloadReport(page, out)).toMatch(/^# /);

      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-operator.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
      await runtime.stop();
    }
  }, 180_000);
});
