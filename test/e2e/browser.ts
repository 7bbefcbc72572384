import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium, which `.ci/run` installs; Playwright never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

/** Fails at once, saying how to install it, when the browser is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium, as .ci/run does) or ` +
        `set CHROMIUM_PATH`,
    );
}

/** Headless chromium, with nothing of its own on the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/** A page of the dashboard's size that may download (reports). */
export async function dashboardPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
  return context.newPage();
}

/**
 * The page's errors and console errors from now on (a test expects none); console errors matching `expected` (a
 * refused request the browser logs as a failed load) are left out.
 */
export function pageProblems(page: Page, expected?: RegExp): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && !expected?.test(m.text()) && problems.push(`console: ${m.text()}`));
  return problems;
}

/** Once the result box shows `title`: its first line and the JSON below it. */
export async function resultOf(page: Page, title: string, timeout = 15_000) {
  await expect.poll(() => page.locator('[data-testid=result]').textContent(), { timeout }).toContain(title);
  const text = (await page.locator('[data-testid=result]').textContent())!;
  return { head: text.slice(0, text.indexOf('\n')), body: JSON.parse(text.slice(text.indexOf('\n') + 1)) };
}

/** One click on the first episode report's markdown link: the file, saved in `dir`, and its text. */
export async function downloadReport(page: Page, dir: string): Promise<string> {
  const link = page.locator('tr[data-report^="rca-"] [data-testid=report-download][data-file="report.md"]').first();
  await link.waitFor({ timeout: 20_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toMatch(/^rca-.*report\.md$/);
  const saved = join(dir, download.suggestedFilename());
  await download.saveAs(saved);
  return readFileSync(saved, 'utf8');
}
