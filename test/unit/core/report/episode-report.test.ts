import { describe, expect, it } from 'vitest';
import type { Anomaly } from '../../../../lambdas/core/anomaly.js';
import type { GuardrailDecision } from '../../../../lambdas/core/mitigation/guardrail-request.js';
import { planMitigation, type MitigationPlan } from '../../../../lambdas/core/mitigation/plan.js';
import {
  buildReport,
  renderMarkdown,
  type ActionLedgerRecord,
  type EpisodeReport,
  type EpisodeReportInput,
  type SeriesPoint,
} from '../../../../lambdas/core/report/index.js';
import { MINUTE, T0, at, seedAnomaly, seedInput, seedLedger, seedPlan } from './fixtures.js';

const episode = (input: EpisodeReportInput) => buildReport(input) as EpisodeReport;

describe('the seed 004 §4 worked example (KR search cost spike, stabilised in 27 min, cost −19 %)', () => {
  const input = seedInput();
  const report = episode(input);
  const md = renderMarkdown(report);
  const keys = seedPlan().stages[0]!.actions.map((a) => a.rollbackKey);

  it('says what spiked, by how much, against what', () => {
    expect(md).toContain('acme cqs_p95 rose +51% above its expected 0.0037 USD, peaking at 0.0056 USD');
    expect(md).toContain('expected band 0.0035–0.0039 USD');
    expect(md).toMatch(/started at 2026-11-22 10:00 UTC and was detected at 10:03 UTC/);
    expect(report.figures.before).toEqual({
      observed: 0.0056,
      expected: 0.0037,
      band: { lo: 0.0035, hi: 0.0039 },
      changePercent: 51.4,
    });
  });

  it('gives the class and the evidence that led there', () => {
    expect(md).toContain('## Classification: app');
    expect(md).toContain('- query cost rose without a matching change: expensive queries');
    expect(md).toContain('- only acme affected');
    expect(report.classification).toEqual({ class: 'app', evidence: input.anomaly.evidence });
  });

  it('shows no release badge at detection, and the releases seen in the window', () => {
    expect(md).toContain('No change record was correlated at detection');
    expect(md).toContain('09:15 UTC release rel-381 "search 2.3": 45 min before the anomaly started');
    expect(md).toContain(
      '10:28 UTC release rel-390 "search 2.3.1: cache key includes the template parameter": 28 min after the ' +
        'anomaly started',
    );
  });

  it('records the policy decisions and the plan', () => {
    expect(md).toContain('Automatic mitigation: **allowed**');
    expect(md).toContain('- soft: permit-soft-apply: soft steps may be applied');
    expect(report.policy).toMatchObject({
      playbook: { id: 'search-cost' },
      allowed: true,
      reasons: input.plan!.reasons,
    });
  });

  it('lists each action with its time, control, values and rollback key, and when it was rolled back', () => {
    expect(md).toContain(`Episode rollback key \`${input.plan!.rollbackKey}\` undoes everything below.`);
    expect(md).toContain(
      `| 10:04:05 UTC | soft | Raise the search cache TTL to 90 s | \`tenant/acme/search.cache.ttl_seconds\` | ` +
        `\`90\` | \`30\` | \`${keys[0]}\` | 10:44:00 UTC |`,
    );
    expect(md).toContain(
      `| 10:04:06 UTC | soft | Cap rows at 200 | \`tenant/acme/search.rows.max\` | \`200\` | \`1000\` | \`` +
        `${keys[1]}\` | 10:39:00 UTC |`,
    );
    expect(md).toContain(
      `| 10:04:07 UTC | soft | Cap facet.limit at 50 | \`tenant/acme/search.facet.limit.max\` | \`50\` | \`200\` | ` +
        `\`${keys[2]}\` | 10:34:00 UTC |`,
    );
    expect(report.actions.map((a) => [a.rollbackKey, a.appliedAt, a.rolledBackAt])).toEqual([
      [keys[0], '2026-11-22T10:04:05.000Z', '2026-11-22T10:44:00.000Z'],
      [keys[1], '2026-11-22T10:04:06.000Z', '2026-11-22T10:39:00.000Z'],
      [keys[2], '2026-11-22T10:04:07.000Z', '2026-11-22T10:34:00.000Z'],
    ]);
  });

  it('says when it recovered: stabilised 27 min after the first action', () => {
    expect(md.split('\n')[0]).toBe('# acme cqs_p95 +51% (app): stabilised 27 min after the first action');
    expect(md).toContain(
      'cqs_p95 stabilised 27 min after the first action: back inside its expected band from 10:31 UTC and stayed there',
    );
    expect(md).toContain('settled at 0.0036 USD');
    expect(md).toContain('Outcome: **recovered**: 3 actions rolled back in stages');
    expect(report.stabilisation).toMatchObject({
      from: 'first-action',
      fromAt: '2026-11-22T10:04:00.000Z',
      stabilisedAt: '2026-11-22T10:31:00.000Z',
      minutes: 27,
    });
  });

  it('states the cost effect (−19 %) and the savings with their method and assumptions', () => {
    expect(md).toContain(
      'Cost effect: **−19%**: mean cqs_p95 was 0.00444 USD over the 27 minutes from the first action to ' +
        'stabilising, against 0.00547 USD over the 4 minutes before it.',
    );
    expect(report.costEffect!.percent).toBe(-18.9);
    // 12,000 queries a minute: (0.005475 − 0.0037) × 12,000 = 21.3 USD a minute before the action,
    // projected over 27 minutes = 575.1; actually (0.00444074 − 0.0037) × 12,000 × 27 = 240.0.
    expect(report.savings).toMatchObject({
      estimated: true,
      basis: 'cost',
      currency: 'USD',
      weighted: true,
      percent: 58.3,
    });
    if (!report.savings.estimated) throw new Error('unreachable');
    expect(report.savings.projectedExcess).toBeCloseTo(575.1, 6);
    expect(report.savings.actualExcess).toBeCloseTo(240, 6);
    expect(report.savings.amount).toBeCloseTo(335.1, 6);
    expect(md).toContain('Estimated savings: **USD 335.10** avoided (58.3% of the projected excess)');
    expect(md).toContain('Method: Excess = (observed − expected) × volume per minute, summed over the episode');
    expect(md).toContain(
      'Without the action the excess would have gone on at its pre-action rate until the signal stabilised (10:31 UTC)',
    );
  });

  it('puts every event on one ordered timeline', () => {
    expect(report.timeline.map((t) => `${t.at.slice(11, 19)} ${t.kind}`)).toEqual([
      '09:15:00 change',
      '10:00:00 anomaly-start',
      '10:03:00 detected',
      '10:03:00 alert',
      '10:04:00 planned',
      '10:04:05 applied',
      '10:04:06 applied',
      '10:04:07 applied',
      '10:28:00 change',
      '10:31:00 stabilised',
      '10:34:00 rolled-back',
      '10:39:00 rolled-back',
      '10:44:00 rolled-back',
      '10:44:10 outcome',
    ]);
    expect(report.timeline.filter((t) => t.kind === 'rolled-back').map((t) => t.rollbackKey)).toEqual([
      keys[2],
      keys[1],
      keys[0],
    ]);
  });

  it('reads as reviewed (golden file)', async () => {
    await expect(md).toMatchFileSnapshot('./__golden__/seed-episode.md');
  });
});

/** A cost signal with round numbers, expected 10 (band 8–12), one action at 10:02:30. */
function handInput(
  values: number[],
  over: { volume?: number[]; signal?: string; expected?: number; band?: { lo: number; hi: number } } = {},
): EpisodeReportInput {
  const signal = over.signal ?? 'cost_per_tb_scanned';
  const expected = over.expected ?? 10;
  const band = over.band ?? { lo: 8, hi: 12 };
  const anomaly = seedAnomaly({
    id: `acme#${signal}@2026-11-22T10:00Z`,
    key: `acme#${signal}`,
    signal,
    expected,
    observed: values[1]!,
    band,
    change: '',
    evidence: [],
  });
  const plan = planMitigation(anomaly, { guardrails: { soft: ALLOW, hard: ALLOW }, now: at(2) });
  const action = { ...plan.stages[0]!.actions[0]!, previous: null, appliedAt: at(2, 30) };
  const series: SeriesPoint[] = values.map((v, i) => {
    const p: SeriesPoint = { ts: at(i), observed: v, expected, lo: band.lo, hi: band.hi };
    if (over.volume?.[i] !== undefined) p.volume = over.volume[i];
    return p;
  });
  return {
    kind: 'episode',
    generatedAt: at(20),
    anomaly,
    plan,
    ledger: [{ event: 'applied', at: at(2, 30), action }],
    series,
  };
}
const ALLOW: GuardrailDecision = {
  allowed: true,
  reasons: ['permit-soft-apply: soft steps may be applied'],
  policies: ['permit-soft-apply'],
  errors: [],
};

describe('savings: the excess integrated against the baseline, hand-checked', () => {
  // minutes 0,1 before the action: excess 6, 8 → 7 a minute; minutes 2,3 after it: 4 + 3 = 7;
  // back in band from minute 4 for six minutes.
  const values = [16, 18, 14, 13, 10, 10, 10, 10, 10, 10];

  it('a cost signal: avoided = pre-action rate × minutes after − actual excess after, in USD', () => {
    const r = episode(handInput(values));
    expect(r.stabilisation).toMatchObject({ stabilisedAt: iso(4), minutes: 2 });
    expect(r.savings).toEqual(
      expect.objectContaining({
        estimated: true,
        basis: 'cost',
        currency: 'USD',
        amount: 7,
        percent: 50,
        episodeExcess: 21,
        projectedExcess: 14,
        actualExcess: 7,
        weighted: false,
        window: { from: iso(0), firstAction: iso(2), to: iso(4), minutesBefore: 2, minutesAfter: 2 },
      }),
    );
    expect(r.savings.method).toContain(
      'Here: 7 USD/TB per minute over the 2 minutes before 10:02 UTC, projected over the 2 minutes after it.',
    );
    expect(r.savings.assumptions.join(' ')).toMatch(
      /per-unit cost \(USD\/TB\): each minute’s excess counts as one unit’s worth of spend/,
    );
    // (13.5 − 17) / 17
    expect(r.costEffect!.percent).toBe(-20.6);
  });

  it('with volume on every minute the excess is weighted into dollars; one minute without volume falls back', () => {
    const weighted = episode(handInput(values, { volume: [2, 2, 1, 1, 1, 1, 1, 1, 1, 1] }));
    // 12, 16 → 14 a minute; 4 + 3 = 7 after; 28 projected.
    expect(weighted.savings).toMatchObject({
      estimated: true,
      amount: 21,
      projectedExcess: 28,
      actualExcess: 7,
      percent: 75,
      weighted: true,
    });
    const partial = episode(handInput(values, { volume: [2, 2, 1] }));
    expect(partial.savings).toMatchObject({ amount: 7, weighted: false });
  });

  it('a signal that never settles is counted to the end of the data and said so', () => {
    const r = episode(handInput([16, 18, 16, 15, 14, 14, 14]));
    expect(r.stabilisation).toMatchObject({ stabilisedAt: null, minutes: null });
    expect(r.savings).toMatchObject({
      estimated: true,
      amount: 7 * 5 - (6 + 5 + 4 + 4 + 4),
      window: { to: iso(7), minutesAfter: 5 },
    });
    const md = renderMarkdown(r);
    expect(md.split('\n')[0]).toMatch(/: not stabilised$/);
    expect(md).toContain('cost_per_tb_scanned had not stabilised by the last minute of data (10:06 UTC)');
    expect(md).toContain(
      'The signal had not stabilised by the end of the data: the episode is counted up to 10:07 UTC',
    );
  });

  it('a dip back inside the band that does not last is not stable', () => {
    const r = episode(handInput([16, 18, 11, 11, 14, 11, 11, 11, 11, 11]));
    expect(r.stabilisation.stabilisedAt).toBe(iso(5));
    expect(episode(handInput([16, 18, 14, 11, 11, 11, 11])).stabilisation.stabilisedAt).toBeNull();
  });

  it('a non-cost signal: the share of the projected excess avoided, in the bad direction, no dollars', () => {
    // cache_hit_ratio: down is bad. Excess 0.4, 0.3 → 0.35 a minute; after: 0.1 + 0.06; projected 0.7.
    const r = episode(
      handInput([0.5, 0.6, 0.8, 0.84, 0.9, 0.9, 0.9, 0.9, 0.9], {
        signal: 'cache_hit_ratio',
        expected: 0.9,
        band: { lo: 0.85, hi: 0.95 },
      }),
    );
    expect(r.savings).toMatchObject({ estimated: true, basis: 'relative', percent: 77.1 });
    expect(r.savings).not.toHaveProperty('amount');
    expect(r.savings).not.toHaveProperty('currency');
    const md = renderMarkdown(r);
    expect(md).toContain('## Effect and excess avoided');
    expect(md).toContain('Excess avoided: **77.1%** of the projected excess');
    expect(md).toContain('Method: Excess = expected − observed per minute');
    expect(md).toContain('cache_hit_ratio is not a cost signal');
  });
});

describe('episodes without automatic action', () => {
  const release = {
    id: 'rel-400',
    tenant: 'acme',
    change: 'release' as const,
    ts: T0 - 10 * MINUTE,
    region: 'kr',
    title: 'search 2.4',
    offsetMinutes: 10,
  };
  const alertOnly = (): EpisodeReportInput => {
    const series = Array.from(
      { length: 20 },
      (_, i): SeriesPoint => ({
        ts: at(i - 5),
        observed: i >= 5 && i < 12 ? 0.0056 : 0.0037,
        expected: 0.0037,
        lo: 0.0035,
        hi: 0.0039,
      }),
    );
    const anomaly: Anomaly = seedAnomaly({
      correlatedChanges: [release],
      decision: 'alert',
      recommendation: 'roll back release rel-400 "search 2.4"; no automatic action while a change is this close',
    });
    return { kind: 'episode', generatedAt: at(30), anomaly, series };
  };

  it('a release within 30 min: the report recommends its rollback and estimates no savings', () => {
    const r = episode(alertOnly());
    const md = renderMarkdown(r);
    expect(md).toContain('Correlated at detection (within ±30 min of the start): release rel-400 "search 2.4".');
    expect(md).toContain(
      'No mitigation was planned. Recommendation: roll back release rel-400 "search 2.4"; no automatic action ' +
        'while a change is this close.',
    );
    expect(md).toContain('Nothing was applied.');
    expect(md).toContain('Savings: not estimated (no action was applied: nothing to compare against).');
    expect(md).toContain('No before/after comparison: no action was applied.');
    // Counted from detection (10:03): back in band from 10:07.
    expect(r.stabilisation).toMatchObject({ from: 'detection', minutes: 4 });
    expect(md.split('\n')[0]).toBe('# acme cqs_p95 +51% (app): stabilised 4 min after detection');
    expect(r.timeline.filter((t) => t.kind === 'change')).toHaveLength(1);
  });

  it('blocked by policy: the guardrail reasons, nothing applied', () => {
    const deny: GuardrailDecision = {
      allowed: false,
      reasons: ['release-prefers-rollback: a release within 30 min: roll it back instead'],
      policies: ['release-prefers-rollback'],
      errors: [],
    };
    const plan: MitigationPlan = planMitigation(seedAnomaly(), { guardrails: { soft: deny, hard: deny }, now: at(4) });
    const r = episode({
      ...alertOnly(),
      plan,
      outcome: 'blocked',
      execution: { name: plan.id, status: 'SUCCEEDED', stoppedAt: at(4, 20) },
    });
    const md = renderMarkdown(r);
    expect(md).toContain('Automatic mitigation: **not allowed**');
    expect(md).toContain('- soft: release-prefers-rollback: a release within 30 min: roll it back instead');
    expect(md).toContain('Nothing was applied: the guardrails did not allow automatic mitigation.');
    expect(md).toContain('Outcome: **blocked**: blocked by policy, nothing applied');
    expect(r.actions).toEqual([]);
  });
});

describe('missing window data', () => {
  it('still renders, and says what cannot be judged', () => {
    const r = episode(seedInput({ series: [] }));
    const md = renderMarkdown(r);
    expect(md).toContain('no minute data for cqs_p95 was available: recovery cannot be judged');
    expect(md).toContain('Savings: not estimated (no data for the episode’s minutes).');
    expect(md).toContain('No before/after comparison: no minute data on both sides of the first action.');
    expect(r.actions).toHaveLength(3);
    expect(r.series).toEqual([]);
  });
});

describe('ledger handling', () => {
  it('a retried apply recorded twice is one action; a rollback with nothing to undo is shown as skipped', () => {
    const plan = seedPlan();
    const ledger: ActionLedgerRecord[] = seedLedger(plan);
    const first = ledger[0]!;
    const skipped: ActionLedgerRecord = {
      event: 'rollback-skipped',
      at: at(44),
      action: ledger[1]!.action,
      note: 'nothing to undo',
    };
    const r = episode(seedInput({ plan, ledger: [...ledger, { ...first }, skipped] }));
    expect(r.actions).toHaveLength(3);
    expect(r.actions[1]!.rollbackSkipped).toBe('nothing to undo');
  });
});

function iso(minute: number): string {
  return new Date(at(minute)).toISOString();
}
