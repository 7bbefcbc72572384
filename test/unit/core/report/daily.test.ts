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
import { incidentIdOf } from '../../../../lambdas/core/incidents.js';
import { T0, at, seedAnomaly, seedInput } from './fixtures.js';

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
      incidents: 3,
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
    expect(md.split('\n')[0]).toBe(
      '# Anomaly digest 2026-11-22: 3 incidents, 3 anomalies, 1 mitigated, 1 recovered automatically',
    );
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

describe('the daily digest groups anomalies by incident', () => {
  const ORIGIN = 'inc-origin1';
  const edge = (tenant: string, minute: number, severity: 'SEV1' | 'SEV2' | 'SEV3', signal = 'edge_p95_ms') => ({
    anomaly: {
      id: `${tenant}#${signal}@2026-11-22T14:${String(minute).padStart(2, '0')}Z`,
      tenant,
      signal,
      class: 'infra' as const,
      severity,
      decision: 'mitigate' as const,
      start: DAY + 14 * 3600_000 + minute * 60_000,
      change: '+90%',
      incident: ORIGIN,
    },
  });
  // The origin bottleneck on three tenants (two signals): one incident; the seed and beta are one each.
  const episodes: EpisodeSummary[] = [
    ...summaries,
    edge('globex', 2, 'SEV2'),
    edge('acme', 0, 'SEV2'),
    edge('initech', 6, 'SEV1', 'origin_p95_ms'),
  ];
  const report = buildReport({
    kind: 'daily',
    generatedAt: DAY + 86_400_000,
    range: { from: DAY, to: DAY + 86_400_000 },
    episodes,
  }) as DailyReport;

  it('counts incidents and anomalies, and lists each incident with its tenants, signals and worst severity', () => {
    expect(report.totals).toMatchObject({ incidents: 4, episodes: 6 });
    expect(report.incidents.map((i) => [i.firstStart.slice(11, 16), i.episodes.length])).toEqual([
      ['03:10', 1],
      ['10:00', 1],
      ['14:00', 3],
      ['22:00', 1],
    ]);
    expect(report.incidents[2]).toEqual({
      id: ORIGIN,
      firstStart: '2026-11-22T14:00:00.000Z',
      severity: 'SEV1',
      tenants: ['acme', 'globex', 'initech'],
      signals: ['edge_p95_ms', 'origin_p95_ms'],
      episodes: [
        'acme#edge_p95_ms@2026-11-22T14:00Z',
        'globex#edge_p95_ms@2026-11-22T14:02Z',
        'initech#origin_p95_ms@2026-11-22T14:06Z',
      ],
    });
    // Anomalies without an incident (stored before incidents, suppressed) are each their own.
    expect(report.incidents[0]!.id).toBe(incidentIdOf('beta#search_qps@2026-11-22T03:10Z'));
    expect(report.episodes.find((e) => e.tenant === 'globex')!.incident).toBe(ORIGIN);
  });

  it('report.md: one section per incident, its anomalies under it', () => {
    const md = renderMarkdown(report);
    expect(md.split('\n')[0]).toBe(
      '# Anomaly digest 2026-11-22: 4 incidents, 6 anomalies, 4 mitigated, 1 recovered automatically',
    );
    expect(md).toContain('- 4 incidents (anomalies that share a cause), 6 anomalies');
    const heading =
      '### 14:00 UTC `inc-origin1`: SEV1, 3 anomalies · tenants `acme`, `globex`, `initech` · signals ' +
      '`edge_p95_ms`, `origin_p95_ms`';
    const section = md.slice(md.indexOf(heading), md.indexOf('\n### ', md.indexOf(heading) + 1));
    expect(section.split('\n').filter((l) => l.startsWith('| 14:'))).toEqual([
      '| 14:00 UTC | `acme` | `edge_p95_ms` | +90% | infra | SEV2 | mitigate | - | - | n/a | n/a | - |',
      '| 14:02 UTC | `globex` | `edge_p95_ms` | +90% | infra | SEV2 | mitigate | - | - | n/a | n/a | - |',
      '| 14:06 UTC | `initech` | `origin_p95_ms` | +90% | infra | SEV1 | mitigate | - | - | n/a | n/a | - |',
    ]);
    expect(md.match(/^### /gm)).toHaveLength(4);
    expect(md).toContain(
      `### 03:10 UTC \`${incidentIdOf('beta#search_qps@2026-11-22T03:10Z')}\`: SEV2, 1 anomaly · tenant \`beta\` · ` +
        'signal `search_qps`',
    );
  });

  it('report.html: the same sections', () => {
    const html = renderHtml(report);
    expect(html).toContain('<h1>Anomaly digest 2026-11-22: 4 incidents, 6 anomalies, 4 mitigated,');
    expect(html).toContain(
      '<h3 class="incident" id="inc-origin1">14:00 UTC <code>inc-origin1</code>: SEV1, 3 anomalies · tenants ' +
        '<code>acme</code>, <code>globex</code>, <code>initech</code> · signals <code>edge_p95_ms</code>, ' +
        '<code>origin_p95_ms</code></h3>',
    );
    expect(html.match(/<h3 class="incident"/g)).toHaveLength(4);
    expect(html.match(/<table class="episodes">/g)).toHaveLength(4);
  });

  it("an episode report's incident is used when the summary comes from it", () => {
    const grouped = buildReport({
      ...seedInput({ anomaly: seedAnomaly({ incident: ORIGIN }) }),
    }) as EpisodeReport;
    expect(summariseEpisode(grouped).anomaly.incident).toBe(ORIGIN);
  });
});
