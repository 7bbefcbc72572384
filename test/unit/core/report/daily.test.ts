import { describe, expect, it } from 'vitest';
import {
  buildReport,
  renderHtml,
  renderMarkdown,
  reportObjectKeys,
  summariseEpisode,
  type DailyReport,
  type EpisodeReport,
  type EpisodeSummary,
} from '../../../../lambdas/core/report/index.js';
import { T0, at, seedInput } from './fixtures.js';

const DAY = Date.UTC(2026, 10, 22);
const seed = buildReport(seedInput()) as EpisodeReport;

const summaries: EpisodeSummary[] = [
  summariseEpisode(seed),
  {
    anomaly: {
      id: 'beta#search_qps@2026-11-22T03:10Z',
      tenant: 'beta',
      signal: 'search_qps',
      class: 'app',
      severity: 'SEV2',
      decision: 'alert',
      start: DAY + 3 * 3600_000 + 10 * 60_000,
      change: '+240%',
    },
  },
  {
    anomaly: {
      id: 'acme#edge_p95_ms@2026-11-22T22:00Z',
      tenant: 'acme',
      signal: 'edge_p95_ms',
      class: 'infra',
      severity: 'SEV4',
      decision: 'suppressed',
      start: DAY + 22 * 3600_000,
      change: '+80%',
    },
  },
  // The day before: not in this digest.
  {
    anomaly: {
      id: 'acme#cqs_p95@2026-11-21T23:50Z',
      tenant: 'acme',
      signal: 'cqs_p95',
      class: 'app',
      severity: 'SEV2',
      decision: 'alert',
      start: DAY - 10 * 60_000,
      change: '+30%',
    },
  },
];

describe('the daily digest', () => {
  const report = buildReport({
    kind: 'daily',
    generatedAt: DAY + 86_400_000 + 5 * 60_000,
    range: { from: DAY, to: DAY + 86_400_000 },
    episodes: summaries,
  }) as DailyReport;

  it("counts the day's episodes, outcomes and savings", () => {
    expect(report.id).toBe('daily-2026-11-22');
    expect(reportObjectKeys(report).json).toBe('reports/2026/11/22/daily-2026-11-22/report.json');
    expect(report.totals).toEqual({
      episodes: 3,
      bySeverity: { SEV2: 2, SEV4: 1 },
      byClass: { app: 2, infra: 1 },
      byDecision: { alert: 1, mitigate: 1, suppressed: 1 },
      byOutcome: { none: 2, recovered: 1 },
    });
    expect(report.savings).toMatchObject({ usd: 335.1, estimated: 1, notEstimated: 2 });
    expect(report.episodes.map((e) => e.tenant + ' ' + e.signal)).toEqual([
      'beta search_qps',
      'acme cqs_p95',
      'acme edge_p95_ms',
    ]);
    expect(report.episodes[1]).toMatchObject({
      outcome: 'recovered',
      actions: 3,
      stabilisedMinutes: 27,
      costEffectPercent: -18.9,
      reportId: seed.id,
      reportPrefix: `reports/2026/11/22/${seed.id}/`,
    });
  });

  it('reads as a summary with a row per episode and a link to its report', () => {
    const md = renderMarkdown(report);
    expect(md.split('\n')[0]).toBe('# Anomaly digest 2026-11-22: 3 episodes, 1 mitigated, 1 recovered automatically');
    expect(md).toContain('- estimated savings: **USD 335.10** (1 of 3 episodes estimated)');
    expect(md).toContain(
      `| 10:00 UTC | \`acme\` | \`cqs_p95\` | +51% | app | SEV2 | mitigate | recovered | 27 min | −19% | USD ` +
        `335.10 | \`reports/2026/11/22/${seed.id}/report.md\` |`,
    );
    expect(md).toContain('| 03:10 UTC | `beta` | `search_qps` | +240% | app | SEV2 | alert | - | - | n/a | n/a | - |');
  });

  it('the HTML digest is self-contained and links episode reports relatively', () => {
    const html = renderHtml(report);
    expect(html).not.toMatch(/https?:\/\/|<script|<link|@import|url\(/i);
    expect(html).toContain(`<a href="../../../../2026/11/22/${seed.id}/report.html">${seed.id}</a>`);
    expect(html.match(/<circle class="episode"/g)).toHaveLength(3);
  });

  it('an empty day says so', () => {
    const empty = buildReport({
      kind: 'daily',
      generatedAt: at(60 * 24),
      range: { from: DAY, to: DAY + 86_400_000 },
      episodes: [],
    });
    expect(renderMarkdown(empty)).toContain('No anomaly episode started in this range.');
    expect(renderHtml(empty)).toContain('No anomaly episode started in this range.');
  });

  it('a range that is not a UTC day is a digest named by its bounds', () => {
    const r = buildReport({
      kind: 'daily',
      generatedAt: T0,
      range: { from: T0 - 86_400_000, to: T0 },
      episodes: summaries,
    });
    expect(r.id).toBe('digest-20261121T1000Z-20261122T1000Z');
    expect(reportObjectKeys(r).prefix).toBe('reports/2026/11/21/digest-20261121T1000Z-20261122T1000Z/');
  });
});
