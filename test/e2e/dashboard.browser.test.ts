import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { startLiveRuntime } from './live-runtime.js';

/** Debian's chromium, which `.ci/run` installs; Playwright never downloads a browser here. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

describe('the operator dashboard in a real browser', () => {
  it('shows the timeline with an episode, runs a dry run, downloads a report, and leaves a screenshot', async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium, as .ci/run does) or ` +
          `set CHROMIUM_PATH`,
      );
    const runtime = await startLiveRuntime('ag-dashboard-');
    const { base, lines, out } = runtime;
    let browser: Browser | undefined;
    try {
      expect(lines).toContain(`dashboard: ${base}/`);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-quic',
          '--no-first-run',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
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
      expect(await page.locator('[data-testid=cost-card]').textContent()).toMatch(/forecast.*actual/s);

      // Dry run: the plan and the policy decision, nothing started.
      await page.locator(`tr[data-episode="${episode}"] [data-testid=dry-run]`).click();
      await expect
        .poll(() => page.locator('[data-testid=result]').textContent(), { timeout: 10_000 })
        .toContain('HTTP 200');
      const result = (await page.locator('[data-testid=result]').textContent())!;
      const answer = JSON.parse(result.slice(result.indexOf('\n') + 1)) as {
        dryRun: boolean;
        key: string;
        decision: { allowed: boolean; reasons: string[] };
        plan: { stages: unknown[] };
      };
      expect(answer).toMatchObject({ dryRun: true, key: episode, decision: { allowed: expect.any(Boolean) } });
      expect(answer.plan.stages.length).toBeGreaterThan(0);

      // One click saves a report: the markdown of an episode's root-cause report.
      const link = page.locator('tr[data-report^="rca-"] [data-testid=report-download][data-file="report.md"]').first();
      await link.waitFor({ timeout: 20_000 });
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      expect(download.suggestedFilename()).toMatch(/^rca-.*report\.md$/);
      const saved = join(out, download.suggestedFilename());
      await download.saveAs(saved);
      const md = readFileSync(saved, 'utf8');
      expect(md).toMatch(/^# /);
      expect(md).toMatch(/`rb-[0-9a-z]+-[a-z-]+\.[a-z-]+`/);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
      await runtime.stop();
    }
  }, 180_000);
});
