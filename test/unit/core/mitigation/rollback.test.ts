import { describe, expect, it } from 'vitest';
import type { AppliedAction, PlannedAction } from '../../../../lambdas/core/mitigation/actions.js';
import { planMitigation } from '../../../../lambdas/core/mitigation/plan.js';
import { ROLLBACK_STEP_INTERVAL_MS, planRollback } from '../../../../lambdas/core/mitigation/rollback.js';
import { BOTH_ALLOWED, MINUTE, T0, anomaly } from './fixtures.js';

const applyAll = (actions: readonly PlannedAction[], from: number, store: Map<string, unknown>): AppliedAction[] =>
  actions.map((a, i) => {
    const previous = (store.get(a.step.flag) ?? null) as AppliedAction['previous'];
    store.set(a.step.flag, a.step.value);
    return { ...a, previous, appliedAt: from + i * 1000 };
  });

describe('planRollback', () => {
  const plan = planMitigation(anomaly({ class: 'infra', signal: 'origin_p95_ms', expected: 120, observed: 900 }), {
    guardrails: BOTH_ALLOWED,
    now: T0,
  });
  const [soft, hard] = plan.stages;

  it('undoes the newest first, one step per interval; an invalidation has nothing to undo', () => {
    const applied = [
      ...applyAll(soft!.actions, T0, new Map()),
      ...applyAll(hard!.actions, T0 + 15 * MINUTE, new Map()),
    ];
    const rb = planRollback(applied);
    expect(rb.steps.map((s) => s.action.step.id)).toEqual([
      'origin-bottleneck/challenge',
      'origin-bottleneck/read-only-failover',
      'origin-bottleneck/cache-key-normalise',
    ]);
    expect(rb.steps.map((s) => s.delayMs)).toEqual([0, ROLLBACK_STEP_INTERVAL_MS, 2 * ROLLBACK_STEP_INTERVAL_MS]);
    expect(rb.steps.map((s) => s.index)).toEqual([0, 1, 2]);
    expect(rb.skipped).toEqual([
      { rollbackKey: soft!.actions[1]!.rollbackKey, reason: 'origin-bottleneck/cdn-invalidate: nothing to undo' },
    ]);
  });

  it('order comes from applied time, not from the order of the ledger', () => {
    const applied = applyAll([...soft!.actions, ...hard!.actions], T0, new Map());
    expect(planRollback([...applied].reverse()).steps.map((s) => s.action.step.id)).toEqual(
      planRollback(applied).steps.map((s) => s.action.step.id),
    );
  });

  it('same applied time: the later ledger entry is undone first', () => {
    const applied = applyAll(soft!.actions, T0, new Map()).map((a) => ({ ...a, appliedAt: T0 }));
    const flagOnly = applied.filter((a) => a.step.undo !== 'none');
    const two = [flagOnly[0]!, { ...flagOnly[0]!, rollbackKey: 'rb-x-second' }];
    expect(planRollback(two).steps.map((s) => s.action.rollbackKey)).toEqual(['rb-x-second', flagOnly[0]!.rollbackKey]);
  });

  it('an action recorded twice (retried apply) is undone once, at its latest position', () => {
    const [a, b] = applyAll(hard!.actions, T0, new Map());
    const retried = { ...a!, appliedAt: T0 + 5000 };
    const rb = planRollback([a!, b!, retried]);
    expect(rb.steps.map((s) => s.action)).toEqual([retried, b]);
  });

  it('intervalMs 0 is the emergency rollback: everything at once, same order', () => {
    const applied = applyAll([...soft!.actions, ...hard!.actions], T0, new Map());
    const rb = planRollback(applied, { intervalMs: 0 });
    expect(rb.steps.map((s) => s.delayMs)).toEqual([0, 0, 0]);
    expect(rb.steps.map((s) => s.action.step.id)).toEqual(planRollback(applied).steps.map((s) => s.action.step.id));
  });

  it('two steps on the same control unwind to the original value (ingest: burst credit, then rate limit)', () => {
    const ingest = planMitigation(anomaly({ class: 'tenant', signal: 'ingest_rpm', expected: 6000, observed: 40000 }), {
      guardrails: BOTH_ALLOWED,
      now: T0,
    });
    const store = new Map<string, unknown>([['@tenant', { rateLimit: 1000, burstLimit: 2000 }]]);
    const applied = [
      ...applyAll(ingest.stages[0]!.actions, T0, store),
      ...applyAll(ingest.stages[1]!.actions, T0 + 15 * MINUTE, store),
    ];
    expect(store.get('@tenant')).toEqual({ rateLimit: 150, burstLimit: 200 });
    for (const { action } of planRollback(applied).steps) store.set(action.step.flag, action.previous);
    expect(store.get('@tenant')).toEqual({ rateLimit: 1000, burstLimit: 2000 });
    expect(store.get('ingest.fields.mode')).toBeNull();
  });

  it('nothing applied → nothing to do', () => {
    expect(planRollback([])).toEqual({ steps: [], skipped: [] });
  });
});
