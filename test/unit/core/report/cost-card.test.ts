import { describe, expect, it } from 'vitest';
import {
  buildReport,
  costCard,
  evidenceFiles,
  renderHtml,
  renderMarkdown,
  summariseEpisode,
  type CostCardSeries,
  type DailyReport,
  type DailyReportInput,
  type EpisodeReport,
} from '../../../../lambdas/core/report/index.js';
import { T0, at, seedInput, seedSeries } from './fixtures.js';

const MIDNIGHT = Date.UTC(2026, 10, 23);
const DAY = 86_400_000;
/** Minute `m` of the UTC day `d` days before the card's end (d = 1: 2026-11-22). */
const t = (d: number, m = 0) => MIDNIGHT - d * DAY + m * 60_000;

/**
 * acme cqs_p95 (no volume: per-unit sums) and globex cir_p95 (volume on every minute: dollars), a minute or two on
 * the day, in the week, in the month and before it; and a usage signal, which is not a cost.
 */
const SERIES: CostCardSeries[] = [
  {
    tenant: 'acme',
    signal: 'cqs_p95',
    points: [
      { ts: t(1, 600), observed: 5, expected: 4 },
      { ts: t(1, 601), observed: 6 }, // forecast from the series' stand-in: 4
      { ts: t(5), observed: 3, expected: 3 }, // 2026-11-18: in the week
      { ts: t(22), observed: 10, expected: 8 }, // 2026-11-01: in the month
      { ts: t(34), observed: 100, expected: 1 }, // 2026-10-20: before the month
      { ts: MIDNIGHT, observed: 100, expected: 1 }, // the card's end is exclusive
    ],
    expected: 4,
  },
  {
    tenant: 'globex',
    signal: 'cir_p95',
    points: [
      { ts: t(1, 720), observed: 2, expected: 1, volume: 10 },
      { ts: t(3), observed: 1, expected: 1, volume: 10 }, // 2026-11-20
    ],
  },
  // A second trace of the same key overlapping the first: its minute wins (7 instead of 5).
  { tenant: 'acme', signal: 'cqs_p95', points: [{ ts: t(1, 600), observed: 7, expected: 4 }] },
  { tenant: 'acme', signal: 'search_qps', points: [{ ts: t(1, 600), observed: 900, expected: 100 }] },
];

describe('the cost card (seed 004 §G): forecast vs actual per day, week and month', () => {
  const card = costCard({ to: MIDNIGHT, series: SERIES });

  it('sums forecast and actual over each period, per tenant and for all', () => {
    expect(card.periods.map((p) => [p.period, p.from, p.to])).toEqual([
      ['day', '2026-11-22T00:00:00.000Z', '2026-11-23T00:00:00.000Z'],
      ['week', '2026-11-16T00:00:00.000Z', '2026-11-23T00:00:00.000Z'],
      ['month', '2026-10-24T00:00:00.000Z', '2026-11-23T00:00:00.000Z'],
    ]);
    const [day, week, month] = card.periods;
    // Day: acme 4 + 4 forecast, 7 + 6 actual; globex 1 × 10 forecast, 2 × 10 actual.
    expect(day!.tenants).toEqual([
      expect.objectContaining({ tenant: 'acme', forecast: 8, actual: 13, difference: 5, minutes: 2 }),
      expect.objectContaining({ tenant: 'globex', forecast: 10, actual: 20, difference: 10, weightedSeries: 1 }),
    ]);
    expect(day!.all).toEqual({
      forecast: 18,
      actual: 33,
      difference: 15,
      differencePercent: 83.3,
      minutes: 3,
      series: 2,
      weightedSeries: 1,
    });
    // Week: + acme 3/3 on the 18th, + globex 10/10 on the 20th.
    expect(week!.all).toMatchObject({ forecast: 31, actual: 46, minutes: 5 });
    // Month: + acme 8/10 on the 1st; the 20 October minute and the one at the card's end are outside.
    expect(month!.all).toMatchObject({ forecast: 39, actual: 56, difference: 17, differencePercent: 43.6, minutes: 6 });
    expect(month!.tenants.find((x) => x.tenant === 'acme')).toMatchObject({ forecast: 19, actual: 26 });
  });

  it('leaves out what is not a cost signal, and says so', () => {
    expect(card.ignoredSignals).toEqual(['search_qps']);
    expect(card.method).toContain("Forecast = the detector's expected value of each minute, summed over the period");
  });

  it('a period asked for alone; a minute without a forecast and no stand-in is left out', () => {
    const only = costCard({
      to: MIDNIGHT,
      periods: ['week'],
      series: [
        {
          tenant: 'acme',
          signal: 'cqs_p95',
          points: [
            { ts: t(1), observed: 9 },
            { ts: t(2), observed: 2, expected: 1 },
          ],
        },
      ],
    });
    expect(only.periods.map((p) => p.period)).toEqual(['week']);
    expect(only.periods[0]!.all).toMatchObject({ forecast: 1, actual: 2, minutes: 1 });
  });
});

describe("the cost card's mitigations: before/after and savings", () => {
  const seed = buildReport(seedInput()) as EpisodeReport;
  const card = costCard({
    to: MIDNIGHT,
    series: [{ tenant: 'acme', signal: 'cqs_p95', points: seedSeries({ volume: true }) }],
    mitigations: [
      { id: seed.episode.id, tenant: 'acme', signal: 'cqs_p95', start: T0, firstActionAt: at(4, 5), end: at(31) },
      { id: 'globex#cqs_p95@x', tenant: 'globex', signal: 'cqs_p95', start: T0, firstActionAt: at(2) },
    ],
  });

  it('the seed example: 65.7 → 53.29 USD a minute (−18.9 %), the savings the episode report estimates', () => {
    const row = card.mitigations.find((m) => m.tenant === 'acme')!;
    // Before: 0.005475 × 12,000 over 10:00–10:03; after: 0.00444074 × 12,000 over 10:04–10:30.
    expect(row.before).toEqual({ perMinute: 65.7, minutes: 4 });
    expect(row.after!.perMinute).toBeCloseTo(53.2889, 4);
    expect(row.after!.minutes).toBe(27);
    expect(row.differencePercent).toBe(-18.9);
    expect(row.weighted).toBe(true);
    expect(row.savings).toBeCloseTo(335.1, 6);
    if (!seed.savings.estimated) throw new Error('unreachable');
    expect(row.savings).toBe(seed.savings.amount);
    // Day: the mitigation started on 2026-11-22, so each period counts its savings.
    expect(card.periods.map((p) => p.savings)).toEqual([335.1, 335.1, 335.1]);
  });

  it('no minute after the first action: no before/after difference and no savings, and why', () => {
    const late = costCard({
      to: MIDNIGHT,
      series: [{ tenant: 'acme', signal: 'cqs_p95', points: seedSeries({ volume: true }) }],
      mitigations: [{ id: 'late', tenant: 'acme', signal: 'cqs_p95', start: T0, firstActionAt: at(90) }],
    });
    expect(late.mitigations[0]).toMatchObject({
      after: null,
      differencePercent: null,
      savings: null,
      reason: 'no minute with data after the first action',
    });
    expect(late.mitigations[0]!.before!.minutes).toBe(51);
  });

  it('a mitigation without minute data: no savings, and why', () => {
    expect(card.mitigations.find((m) => m.tenant === 'globex')).toMatchObject({
      before: null,
      after: null,
      savings: null,
      reason: 'no data for the episode’s minutes',
    });
  });
});

describe('in the daily digest: the control-target share and the cost card of the day', () => {
  const seed = buildReport(seedInput()) as EpisodeReport;
  const missed = buildReport(
    seedInput({
      anomaly: { ...seedInput().anomaly, id: 'globex#cqs_p95@2026-11-22T10:00Z', tenant: 'globex' },
      // Stuck at 0.0050 after the action: −10.7 % at +10 min.
      series: seedSeries({ volume: true }).map((p) => (p.ts >= at(4) ? { ...p, observed: 0.005 } : p)),
    }),
  ) as EpisodeReport;
  const input: DailyReportInput = {
    kind: 'daily',
    generatedAt: MIDNIGHT + 300_000,
    range: { from: MIDNIGHT - DAY, to: MIDNIGHT },
    episodes: [summariseEpisode(seed), summariseEpisode(missed)],
    costSeries: [{ tenant: 'acme', signal: 'cqs_p95', points: seedSeries({ volume: true }) }],
  };
  const digest = buildReport(input) as DailyReport;

  it('counts the mitigations that met the 10-minute target and the 24 h corrections', () => {
    expect(missed.controlTarget).toMatchObject({ met: false, changePercent: -10.7 });
    expect(digest.control).toMatchObject({ mitigations: 2, met: 1, missed: 1, notJudged: 0, metPercent: 50 });
    // globex: +48 % overage, then 0.0050 (excess 15.6 USD a minute) from 10:04 on: −8.7 % over 24 h.
    expect(missed.costCorrection).toMatchObject({ applicable: true, met: false, changePercent: -8.7 });
    expect(digest.control.costCorrection).toEqual({ applicable: 2, met: 1, missed: 1, notJudged: 0 });
    expect(digest.episodes.map((e) => [e.tenant, e.controlTargetMet, e.costCorrectionMet])).toEqual([
      ['acme', true, true],
      ['globex', false, false],
    ]);
  });

  it("the day's cost card: forecast vs actual of the traced minutes, and the mitigations", () => {
    expect(digest.costCard.periods).toHaveLength(1);
    // 111 minutes at 0.0037 × 12,000 = 4,928.4; observed sums to 0.4358 × 12,000 = 5,229.6.
    expect(digest.costCard.periods[0]!.all.forecast).toBeCloseTo(4928.4, 6);
    expect(digest.costCard.periods[0]!.all.actual).toBeCloseTo(5229.6, 6);
    expect(digest.costCard.periods[0]!.all).toMatchObject({ differencePercent: 6.1, minutes: 111 });
    expect(digest.costCard.mitigations.map((m) => [m.tenant, m.savings])).toEqual([
      ['acme', 335.1],
      // No series given for globex: nothing to estimate from.
      ['globex', null],
    ]);
    const md = renderMarkdown(digest);
    expect(md).toContain('- 10-minute control target: met by **1 of 2 mitigations** judged (50%)');
    expect(md).toContain('- 24 h cost correction (forecast overage ≥ +20%): met by **1 of 2**');
    expect(md).toContain(
      'day (2026-11-22): forecast USD 4928.40, actual USD 5229.60 (+USD 301.20, +6%) over 111 minutes of data; ' +
        'savings of the mitigations started in it: USD 335.10.',
    );
    expect(md).toContain('| `acme` `cqs_p95` | 10:04 UTC | USD 65.70 | USD 53.29 | −19% | USD 335.10 |');
    expect(md.indexOf('## Cost card')).toBeLessThan(md.indexOf('## Incidents'));
    const html = renderHtml(digest);
    expect(html).toContain('<h2>Cost card</h2>');
    expect(html).toContain('10-minute control target: met by <strong>1 of 2 mitigations</strong> judged (50%)');
  });

  it('the evidence bundle keeps the minutes the card counted', () => {
    const files = evidenceFiles(input, digest);
    expect(files.map((f) => f.name)).toEqual([
      'report.json',
      'report.md',
      'report.html',
      'episodes.json',
      'cost-series.json',
    ]);
    expect(JSON.parse(files[4]!.content as string)[0].points).toHaveLength(111);
  });
});
