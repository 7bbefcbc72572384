import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Dialog } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { defaultWorkload } from '../../local/workload.js';
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
 * 140 simulated minutes take in the origin bottleneck on every tenant (minutes 120–150 of the default workload), one
 * incident of three anomalies.
 */
const MINUTES = 140;

interface Listed {
  id: string;
  tenant: string;
  signal: string;
  incident: string;
}

/** An approval request as GET /v1/anomaly/report lists it (the page is built against this contract). */
const PENDING = {
  key: 'rb-0000test-approve-hard',
  status: 'pending',
  tenant: 'acme',
  signal: 'cqs_p95',
  incident: 'inc-0000test',
  playbook: 'search-cost',
  stage: 'hard',
  steps: [
    {
      step: 'search-cost/block-expensive',
      title: 'Block expensive queries',
      control: 'tenant/acme/search.queries.block_expensive',
      reason: 'hard steps wait for an operator',
    },
  ],
  requestedAt: '2026-11-22T10:20:00.000Z',
  expiresAt: '2026-11-22T10:35:00.000Z',
};
const DECIDED = {
  ...PENDING,
  key: 'rb-1111test-approve-hard',
  status: 'denied',
  decidedBy: 'bob',
  decidedAt: '2026-11-22T10:22:00.000Z',
  reason: 'blocks paying customers',
};

describe('the operator dashboard in a real browser', () => {
  it('shows the timeline with an episode, runs a dry run, downloads a report, lists incidents, takes feedback and ' +
    'approvals, and leaves a screenshot', async () => {
    requireChromium();
    // Open mode (`--no-auth`): no sign-in; test/e2e/dashboard-sign-in.browser.test.ts signs in.
    const runtime = await startLiveRuntime('ag-dashboard-', { minutes: MINUTES, auth: false });
    const { base, lines, out } = runtime;
    let browser: Browser | undefined;
    try {
      expect(lines).toContain(`dashboard: ${base}/`);
      browser = await launchChromium();
      const page = await dashboardPage(browser);
      const problems = pageProblems(page);
      // Every GET of the report the page makes, by itself or on a click.
      let reportFetches = 0;
      page.on('request', (r) => void (new URL(r.url()).pathname === '/v1/anomaly/report' && reportFetches++));
      expect(await (await fetch(`${base}/config.json`)).json()).toEqual({ auth: null });
      await page.goto(`${base}/`);

      // The timeline picks a tenant and a signal that had an anomaly: an episode band and the observed line.
      await page.locator('[data-testid=timeline-svg]').waitFor({ timeout: 20_000 });
      await expect.poll(() => page.locator('[data-testid=episode]').count(), { timeout: 20_000 }).toBeGreaterThan(0);
      const episode = await page.locator('[data-testid=episode]').first().getAttribute('data-episode');
      const [tenant, signal] = [await page.locator('#tenant').inputValue(), await page.locator('#signal').inputValue()];
      expect(episode).toContain(`${tenant}#${signal}@`);
      expect(await page.locator('[data-testid=observed]').count()).toBeGreaterThan(0);
      expect(await page.locator('[data-testid=band], [data-testid=band-now]').count()).toBeGreaterThan(0);
      expect(await page.locator('[data-testid=summary]').textContent()).toMatch(/records [\d,]+ sent/);
      // No sign-in form and nobody signed in; every button shown.
      expect(await page.locator('body').getAttribute('data-auth')).toBe('off');
      expect(await page.locator('[data-testid=sign-in]').isVisible()).toBe(false);
      expect(await page.locator('[data-testid=sign-out]').isVisible()).toBe(false);
      expect(await page.locator('[data-testid=cost-card]').textContent()).toMatch(/forecast.*actual/s);
      // The cost card's forecast vs actual over the day, week and month ending now (for all tenants, then each).
      expect(
        await page.locator('[data-testid=cost-periods] tr[data-tenant=all] td:first-child').allTextContents(),
      ).toEqual(['day', 'week', 'month']);

      // Overview: a tenants × signals grid of the demo, coloured by each key's state now, with its rule in a legend.
      const demo = defaultWorkload(0, 1);
      const cellsOf = () =>
        page.locator('[data-testid=grid-cell]').evaluateAll((els) =>
          els.map((e) => ({
            tenant: e.getAttribute('data-tenant')!,
            signal: e.getAttribute('data-signal')!,
            state: e.getAttribute('data-state')!,
          })),
        );
      await expect
        .poll(async () => new Set((await cellsOf()).map((c) => c.tenant)).size, { timeout: 20_000 })
        .toBe(demo.tenants.length);
      const cells = await cellsOf();
      const gridTenants = [...new Set(cells.map((c) => c.tenant))];
      const gridSignals = [...new Set(cells.map((c) => c.signal))];
      expect(gridTenants.sort()).toEqual(demo.tenants.map((t) => t.tenant).sort());
      expect(gridSignals).toEqual(expect.arrayContaining(demo.signals.map((x) => x.signal)));
      expect(cells.length).toBe(gridTenants.length * gridSignals.length);
      expect(cells.filter((c) => c.state === 'red' || c.state === 'amber').length).toBeGreaterThan(0);
      // Every key with an anomaly in the range is red (open) or amber (recovered), never green.
      const inRange = ((await (await fetch(`${base}/v1/anomaly/report?range=24h`)).json()) as { anomalies: Listed[] })
        .anomalies;
      for (const a of inRange)
        expect(cells.find((c) => c.tenant === a.tenant && c.signal === a.signal)?.state).toMatch(/^(red|amber)$/);
      expect(await page.locator('[data-testid=grid-legend]').textContent()).toMatch(/red:.*amber:.*green:/s);
      // A cell drills into that tenant's timeline, on that signal (another tenant than the one shown, if any).
      const flagged = cells.filter((c) => c.state === 'red' || c.state === 'amber');
      const cell = flagged.find((c) => c.tenant !== tenant) ?? flagged[0]!;
      await page.locator(`[data-testid=grid-cell][data-tenant="${cell.tenant}"][data-signal="${cell.signal}"]`).click();
      await expect.poll(() => page.locator('#tenant').inputValue(), { timeout: 10_000 }).toBe(cell.tenant);
      await expect.poll(() => page.locator('#signal').inputValue(), { timeout: 10_000 }).toBe(cell.signal);
      await expect
        .poll(() => page.locator('#timeline-title').textContent(), { timeout: 10_000 })
        .toContain(`${cell.tenant} ${cell.signal}`);
      // It refreshes by itself: another GET of the report within one cycle, no click; the selection stays.
      const refreshMs = Number(await page.locator('body').getAttribute('data-refresh-ms'));
      expect(refreshMs).toBeGreaterThan(0);
      expect(refreshMs).toBeLessThanOrEqual(30_000);
      const fetchesBefore = reportFetches;
      await expect.poll(() => reportFetches, { timeout: refreshMs + 10_000 }).toBeGreaterThan(fetchesBefore);
      await expect
        .poll(() => page.locator('body').getAttribute('data-auto-refreshes'), { timeout: 10_000 })
        .not.toBeNull();
      await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^updated /);
      expect(await page.locator('#tenant').inputValue()).toBe(cell.tenant);
      expect(await page.locator('#signal').inputValue()).toBe(cell.signal);
      // Back to the first timeline through its cell.
      await page.locator(`[data-testid=grid-cell][data-tenant="${tenant}"][data-signal="${signal}"]`).click();
      await page.locator(`#anomalies tr[data-episode="${episode}"]`).waitFor({ timeout: 10_000 });

      // Dry run: the plan and the policy decision, nothing started.
      await page.locator(`tr[data-episode="${episode}"] [data-testid=dry-run]`).click();
      const answer = (await resultOf(page, 'HTTP 200')).body as {
        dryRun: boolean;
        key: string;
        decision: { allowed: boolean; reasons: string[] };
        plan: { stages: unknown[] };
      };
      expect(answer).toMatchObject({ dryRun: true, key: episode, decision: { allowed: expect.any(Boolean) } });
      expect(answer.plan.stages.length).toBeGreaterThan(0);

      // One click saves a report: the markdown of an episode's root-cause report.
      const md = await downloadReport(page, out);
      expect(md).toMatch(/^# /);
      expect(md).toMatch(/`rb-[0-9a-z]+-[a-z-]+\.[a-z-]+`/);
      // The episode report names its incident.
      expect(md).toMatch(/ · incident `inc-[0-9a-z]+` · /);

      // Dialogs: confirm() and prompt() are answered by `reply` (Playwright would dismiss them otherwise).
      const dialogs: string[] = [];
      let reply: (d: Dialog) => Promise<void> = (d) => d.accept();
      page.on('dialog', (d) => {
        dialogs.push(`${d.type()}: ${d.message()}`);
        void reply(d);
      });

      // Incidents: one row per incident of the API's report, with every member; the biggest is the origin
      // bottleneck on every tenant.
      const listed = ((await (await fetch(`${base}/v1/anomaly/report?range=24h`)).json()) as { anomalies: Listed[] })
        .anomalies;
      const byIncident = new Map<string, Listed[]>();
      for (const a of listed) byIncident.set(a.incident, [...(byIncident.get(a.incident) ?? []), a]);
      const [incident, members] = [...byIncident].sort((a, b) => b[1].length - a[1].length)[0]!;
      expect(members.length).toBeGreaterThan(1);
      await page.locator('#refresh').click();
      const row = page.locator(`[data-testid=incident][data-incident="${incident}"]`);
      await row.waitFor({ timeout: 20_000 });
      await expect
        .poll(
          () =>
            row
              .locator('[data-testid=incident-member]')
              .evaluateAll((els) => els.map((e) => e.getAttribute('data-episode'))),
          { timeout: 20_000 },
        )
        .toEqual(expect.arrayContaining(members.map((m) => m.id)));
      expect(await row.textContent()).toContain(`${[...new Set(members.map((m) => m.tenant))].sort().join(', ')} · `);
      // Grouped, not a flat list: each member is listed once, under its incident only.
      for (const m of members)
        expect(await page.locator(`[data-testid=incident-member][data-episode="${m.id}"]`).count()).toBe(1);

      // A member opens its tenant's timeline on its signal, with its episode.
      const member = members.find((m) => m.tenant !== tenant) ?? members[0]!;
      await row.locator(`[data-testid=incident-member][data-episode="${member.id}"]`).click();
      await expect.poll(() => page.locator('#tenant').inputValue(), { timeout: 10_000 }).toBe(member.tenant);
      await expect.poll(() => page.locator('#signal').inputValue(), { timeout: 10_000 }).toBe(member.signal);
      await page.locator(`[data-testid=episode][data-episode="${member.id}"]`).waitFor({ timeout: 10_000 });
      expect(await page.locator('#timeline-title').textContent()).toContain(`${member.tenant} ${member.signal}`);

      // Feedback round trip: the verdict is stored (201), the same verdict again changes nothing (200).
      const anomalyRow = page.locator(`#anomalies tr[data-episode="${member.id}"]`);
      await anomalyRow.locator('[data-testid=feedback][data-verdict=true_positive]').click();
      const verdict = await resultOf(page, 'POST /v1/anomaly/feedback (true_positive)');
      expect(verdict.head).toBe('POST /v1/anomaly/feedback (true_positive) → HTTP 201');
      expect(verdict.body).toMatchObject({ key: member.id, verdict: 'true_positive', recorded: true });
      await anomalyRow.locator('[data-testid=feedback][data-verdict=true_positive]').click();
      const again = await resultOf(page, 'POST /v1/anomaly/feedback (true_positive) → HTTP 200');
      expect(again.body).toMatchObject({ verdict: 'true_positive', recorded: false });

      // `expected`: the answer suggests a request (not sent); the page shows it and sends it on request.
      await anomalyRow.locator('[data-testid=feedback][data-verdict=expected]').click();
      const expected = await resultOf(page, 'POST /v1/anomaly/feedback (expected)');
      expect(expected.body).toMatchObject({ verdict: 'expected', suggested: { route: expect.any(String) } });
      const suggested = page.locator('[data-testid=suggested-request]');
      expect(await suggested.textContent()).toContain(expected.body.suggested.route);
      await suggested.locator('[data-testid=send-suggested]').click();
      const sent = await resultOf(page, `${expected.body.suggested.route} → HTTP 201`);
      expect(JSON.stringify(sent.body)).toContain(`"tenant":"${member.tenant}"`);
      expect(dialogs.at(-1)).toMatch(/^confirm: Send this request to \/v1\/anomaly\//);

      // Approvals: nothing shown while the API lists none; against the contract, pending ones get approve and
      // deny, each confirmed and with a reason.
      const report = (await (await fetch(`${base}/v1/anomaly/report?range=24h`)).json()) as { approvals?: unknown };
      expect(await page.locator('[data-testid=approvals-section]').isVisible()).toBe(report.approvals !== undefined);
      await page.route(
        (url) => url.pathname === '/v1/anomaly/report',
        async (route) => {
          const response = await route.fetch();
          await route.fulfill({ response, json: { ...(await response.json()), approvals: [DECIDED, PENDING] } });
        },
      );
      const decisions: unknown[] = [];
      await page.route(
        (url) => url.pathname === '/v1/anomaly/approve',
        (route) => {
          decisions.push(route.request().postDataJSON());
          return route.fulfill({ json: { key: PENDING.key, status: 'approved', decidedBy: 'local', recorded: true } });
        },
      );
      await page.locator('#refresh').click();
      const pending = page.locator(`[data-testid=approval][data-approval="${PENDING.key}"]`);
      await pending.waitFor({ timeout: 10_000 });
      expect(await pending.textContent()).toContain('Block expensive queries');
      const decided = page.locator(`[data-testid=approval][data-approval="${DECIDED.key}"]`);
      expect(await decided.textContent()).toContain('by bob');
      expect(await decided.locator('[data-testid=approve], [data-testid=deny]').count()).toBe(0);
      // Cancelled at the confirmation: nothing is sent.
      reply = (d) => d.dismiss();
      await pending.locator('[data-testid=deny]').click();
      expect(dialogs.at(-1)).toMatch(/^confirm: Deny the hard steps of search-cost for acme cqs_p95\?/);
      expect(decisions).toEqual([]);
      reply = (d) => (d.type() === 'prompt' ? d.accept('the cache fix is out') : d.accept());
      await pending.locator('[data-testid=approve]').click();
      const approved = await resultOf(page, 'POST /v1/anomaly/approve (approve)');
      expect(approved.head).toBe('POST /v1/anomaly/approve (approve) → HTTP 200');
      expect(approved.body).toMatchObject({ status: 'approved' });
      expect(decisions).toEqual([{ key: PENDING.key, decision: 'approve', reason: 'the cache fix is out' }]);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      expect(problems).toEqual([]);
      // The page keeps polling the report: a route callback still in flight when the browser closes would reject.
      await page.unrouteAll({ behavior: 'ignoreErrors' });
    } finally {
      await browser?.close();
      await runtime.stop();
    }
  }, 180_000);
});
