import type { AppliedAction, PlannedAction, TargetKind } from '../mitigation/actions.js';

/**
 * One place actions land (the flag table, AppConfig, a usage plan, CloudFront, WAF, a webhook).
 * Both operations must be idempotent: applying an action already applied, or rolling back one
 * already rolled back, changes nothing and reports the same result.
 */
export interface ActionTarget {
  readonly kind: TargetKind;
  apply(action: PlannedAction, now: number): Promise<AppliedAction>;
  rollback(applied: AppliedAction, now: number): Promise<void>;
}
