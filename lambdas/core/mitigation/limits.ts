import { signalSpec } from '../signals.js';
import type { BaselineLimit, PlaybookStep, ResolvedLimit } from './actions.js';

export function isBaselineLimit(value: PlaybookStep['value']): value is BaselineLimit {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'baseline-limit';
}

/** Seconds per unit of a rate signal (`records/min` → 60, `queries/s` → 1); undefined when it is not a rate. */
function secondsPerUnit(signal: string): number | undefined {
  const unit = signalSpec(signal).unit;
  if (unit.endsWith('/min')) return 60;
  if (unit.endsWith('/s')) return 1;
  return undefined;
}

/** How a limit was derived, carried on the plan so an operator can check the numbers. */
export interface DerivedLimit {
  stepId: string;
  signal: string;
  /** The baseline, in the signal's unit. */
  expected: number;
  timesBaseline: number;
  burstTimesBaseline: number;
  per: BaselineLimit['per'];
  limit: ResolvedLimit;
}

/**
 * Turn a baseline-relative limit into numbers for one tenant. `expected` is the tenant's normal rate
 * of `limit.signal` in that signal's unit. Returns the reason instead when no limit can be derived.
 */
export function resolveLimit(
  stepId: string,
  limit: BaselineLimit,
  expected: number | undefined,
): DerivedLimit | { skip: string } {
  const perUnit = secondsPerUnit(limit.signal);
  if (perUnit === undefined) return { skip: `${limit.signal} is not a rate signal: no limit can be derived from it` };
  if (expected === undefined) return { skip: `no baseline for ${limit.signal}: pass it in the plan's baselines` };
  if (!Number.isFinite(expected) || expected <= 0)
    return { skip: `baseline of ${limit.signal} is ${expected}: a limit derived from it would block all traffic` };
  const perTarget = limit.per === 'second' ? 1 : 60;
  const rate = (expected / perUnit) * perTarget;
  const rateLimit = Math.max(1, Math.ceil(rate * limit.timesBaseline));
  const burstTimesBaseline = limit.burstTimesBaseline ?? limit.timesBaseline;
  const burstLimit = Math.max(rateLimit, Math.ceil(rate * burstTimesBaseline));
  return {
    stepId,
    signal: limit.signal,
    expected,
    timesBaseline: limit.timesBaseline,
    burstTimesBaseline,
    per: limit.per,
    limit: { rateLimit, burstLimit },
  };
}
