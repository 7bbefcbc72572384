import type { AppliedAction } from './actions.js';
import { MINUTE_MS } from '../time.js';

/** Time between two steps of a staged rollback (one action per interval, seed 004 §C "단계적 원복"). */
export const ROLLBACK_STEP_INTERVAL_MS = 5 * MINUTE_MS;

export interface RollbackStep {
  /** 0-based position in the rollback. */
  index: number;
  /** When to undo it, counted from the start of the rollback. */
  delayMs: number;
  action: AppliedAction;
}

export interface RollbackPlan {
  /** Newest applied first. */
  steps: RollbackStep[];
  /** Applied actions with nothing to undo (e.g. a CDN invalidation). */
  skipped: { rollbackKey: string; reason: string }[];
}

/**
 * The staged rollback of what was applied: newest first (so two steps on the same control unwind in
 * order and each restores the value the other found), one step per interval. `intervalMs: 0` is the
 * emergency rollback after a failure: everything at once, same order.
 * An action recorded twice (a retried apply) is undone once, at its latest position.
 *
 * @example
 * const { steps } = planRollback(state.applied, { intervalMs: 0 });
 * for (const { action } of steps) await targetFor(action.step.target).rollback(action, now); // newest first
 */
export function planRollback(applied: readonly AppliedAction[], opts: { intervalMs?: number } = {}): RollbackPlan {
  const interval = opts.intervalMs ?? ROLLBACK_STEP_INTERVAL_MS;
  const latest = new Map<string, { action: AppliedAction; order: number }>();
  applied.forEach((action, order) => {
    const seen = latest.get(action.rollbackKey);
    if (!seen || action.appliedAt >= seen.action.appliedAt) latest.set(action.rollbackKey, { action, order });
  });
  const newestFirst = [...latest.values()].sort((a, b) => b.action.appliedAt - a.action.appliedAt || b.order - a.order);
  const skipped: RollbackPlan['skipped'] = [];
  const steps: RollbackStep[] = [];
  for (const { action } of newestFirst) {
    if (action.step.undo === 'none') {
      skipped.push({ rollbackKey: action.rollbackKey, reason: `${action.step.id}: nothing to undo` });
      continue;
    }
    steps.push({ index: steps.length, delayMs: steps.length * interval, action });
  }
  return { steps, skipped };
}
