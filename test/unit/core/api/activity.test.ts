import { describe, expect, it } from 'vitest';
import {
  costAtDetection,
  estimateRangeSavings,
  summariseActions,
  type ActionEvent,
  type AnomalyRecord,
} from '../../../../lambdas/core/api/activity.js';
import type { AppliedAction } from '../../../../lambdas/core/mitigation/actions.js';
import { SEARCH_COST } from '../../../../lambdas/core/mitigation/playbooks.js';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const EPISODE = 'acme#cqs_p95@2026-11-22T10:00Z';

function action(step = 0, appliedAt = T0 + 5 * 60_000): AppliedAction {
  const s = SEARCH_COST.steps[step]!;
  return { rollbackKey: `rb-abc-${s.id}`, episodeId: EPISODE, tenant: 'acme', step: s, previous: null, appliedAt };
}

function anomaly(over: Partial<AnomalyRecord> = {}): AnomalyRecord {
  return {
    id: EPISODE,
    key: 'acme#cqs_p95',
    tenant: 'acme',
    signal: 'cqs_p95',
    class: 'app',
    severity: 'SEV2',
    start: T0,
    detectedAt: T0 + 180_000,
    score: 0.9,
    expected: 2,
    observed: 3,
    band: { lo: 1.5, hi: 2.5 },
    change: '+50%',
    trigger: 'high-confidence',
    evidence: [],
    correlatedChanges: [],
    decision: 'mitigate',
    recommendation: '',
    softOnly: false,
    ...over,
  };
}

describe('activity summaries for the report and the timeline', () => {
  it('one line per action with its latest state, a retried apply counted once', () => {
    const a = action(0);
    const b = action(1);
    const events: ActionEvent[] = [
      { event: 'applied', at: a.appliedAt, action: a },
      { event: 'applied', at: a.appliedAt + 10, action: a },
      { event: 'applied', at: b.appliedAt + 1000, action: { ...b, appliedAt: b.appliedAt + 1000 } },
      { event: 'rolled-back', at: T0 + 20 * 60_000, action: a },
    ];
    const lines = summariseActions(events);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ rollbackKey: a.rollbackKey, inEffect: false, rolledBackAt: T0 + 20 * 60_000 });
    expect(lines[1]).toMatchObject({ rollbackKey: b.rollbackKey, inEffect: true, rolledBackAt: null });
  });

  it('prices mitigated cost episodes only: excess at detection times the minutes to recovery', () => {
    const actions = summariseActions([{ event: 'applied', at: T0 + 5 * 60_000, action: action(0) }]);
    const s = estimateRangeSavings(
      [
        anomaly({ recoveredAt: T0 + 25 * 60_000 }),
        anomaly({ id: 'acme#search_qps@2026-11-22T10:00Z', signal: 'search_qps' }),
      ],
      actions,
      T0 + 3_600_000,
    );
    expect(s.episodes).toEqual([{ id: EPISODE, amount: 20, minutes: 20 }]);
    expect(s.amount).toBe(20);
    expect(s.method).toContain('excess at detection');
    expect(estimateRangeSavings([anomaly()], [], T0 + 3_600_000).amount).toBeNull();
  });

  const title =
    'sums the cost episodes at detection, forecast (expected) vs actual (observed); other signals are left out';
  it(title, () => {
    const cost = costAtDetection([
      anomaly(),
      anomaly({ id: 'acme#cqs_p95@2026-11-22T12:00Z', expected: 0.5, observed: 1.25 }),
      anomaly({ id: 'acme#search_qps@2026-11-22T10:00Z', signal: 'search_qps', expected: 100, observed: 400 }),
    ]);
    expect(cost).toEqual({ episodes: 2, forecastPerMinute: 2.5, actualPerMinute: 4.25, unit: 'USD' });
    expect(costAtDetection([])).toEqual({ episodes: 0, forecastPerMinute: 0, actualPerMinute: 0, unit: 'USD' });
  });
});
