import {
  actedVia,
  type AppliedAction,
  type PlannedAction,
  type PlaybookStep,
  type TargetKind,
} from '../../core/mitigation/actions.js';
import type { ActionTarget } from '../../core/ports/action-target.js';
import type { FlagTableTarget } from './flag-table.js';

/** Applies a step of a kind that is not enabled to the flag table, as flag `<kind>:<flag>`. */
export class FlagFallbackTarget implements ActionTarget {
  readonly kind = 'flag' as const;
  constructor(
    readonly fallbackFor: TargetKind,
    private readonly flags: FlagTableTarget,
  ) {}

  static flagName(kind: TargetKind, step: PlaybookStep): string {
    return `${kind}:${step.flag}`;
  }

  async apply(action: PlannedAction, now: number): Promise<AppliedAction> {
    const done = await this.flags.apply(action, now, FlagFallbackTarget.flagName(this.fallbackFor, action.step));
    return { ...done, actedVia: actedVia('flag', this.fallbackFor) };
  }

  async rollback(applied: AppliedAction, now: number): Promise<void> {
    await this.flags.rollbackWithOutcome(applied, now, FlagFallbackTarget.flagName(this.fallbackFor, applied.step));
  }
}

/** Names the control on every applied action of a configured AWS target (the flag targets name themselves). */
export class NamingTarget implements ActionTarget {
  constructor(private readonly inner: ActionTarget) {}
  get kind(): TargetKind {
    return this.inner.kind;
  }
  async apply(action: PlannedAction, now: number): Promise<AppliedAction> {
    const done = await this.inner.apply(action, now);
    return done.actedVia ? done : { ...done, actedVia: actedVia(this.inner.kind) };
  }
  rollback(applied: AppliedAction, now: number): Promise<void> {
    return this.inner.rollback(applied, now);
  }
}
