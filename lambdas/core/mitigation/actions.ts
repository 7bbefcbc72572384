import type { AnomalyClass } from '../classifier.js';

/** Soft steps first; hard steps only where the guardrails allow them (seed 004 §C, §I). */
export type ActionLevel = 'soft' | 'hard';

/**
 * Where an action is applied. `flag` is the built-in flag table services read; the others are
 * adapters for real AWS controls and a signed webhook, each enabled by configuration.
 */
export type TargetKind = 'flag' | 'appconfig' | 'usage-plan' | 'cdn-invalidation' | 'waf-rate-limit' | 'webhook';

/**
 * Whose control a step changes: one tenant's (the default) or the shared platform's (e.g. the CDN in
 * front of every tenant). Flag-table steps are stored per tenant, or for every tenant (`*`) when
 * platform-scoped. See README.md, "Control keys".
 */
export type FlagScope = 'tenant' | 'platform';

/**
 * A rate limit relative to the tenant's normal rate of `signal`, resolved by the planner into a
 * {@link ResolvedLimit} (a playbook holds no tenant-specific numbers).
 */
export type BaselineLimit = {
  kind: 'baseline-limit';
  /** The rate signal whose expected value is the baseline, e.g. `ingest_rpm`. */
  signal: string;
  /** Steady rate allowed, as a multiple of the baseline. */
  timesBaseline: number;
  /** Burst allowed, as a multiple of the baseline (defaults to `timesBaseline`). */
  burstTimesBaseline?: number;
  /** Unit of the resolved numbers (the step's flag name says it too, e.g. `..._per_minute`). */
  per: 'second' | 'minute';
};

/**
 * A {@link BaselineLimit} turned into numbers for one tenant: exactly what an API Gateway usage-plan
 * throttle takes. (A type alias, not an interface, so it fits the `Record<string, unknown>` of a
 * step value.)
 */
export type ResolvedLimit = {
  rateLimit: number;
  burstLimit: number;
};

/** One step of a playbook, as data. */
export interface PlaybookStep {
  /** Stable id within the playbook, e.g. `search-cost/rows-limit`. */
  id: string;
  title: string;
  level: ActionLevel;
  target: TargetKind;
  /**
   * The flag (or control) the step sets, within its scope: a flag name for `flag` steps
   * (`search.rows.max`; the tenant comes from the action), the resource for AWS controls
   * (`@tenant` = the tenant's usage plan, a WAF rule name, `@distribution`).
   */
  flag: string;
  /** Absent means `tenant`. */
  scope?: FlagScope;
  /**
   * The value applied while the step is active. A {@link BaselineLimit} in a playbook becomes a
   * {@link ResolvedLimit} in a planned action.
   */
  value: string | number | boolean | Record<string, unknown>;
  /** How the step is undone: put the previous value back, or nothing to undo (e.g. a cache invalidation). */
  undo: 'restore-previous' | 'none';
  /**
   * `required`: the step waits for an operator's approval; `auto`: it does not (other guardrails still apply).
   * Absent: hard steps wait, soft ones do not. The deployment's `mitigation.stepApproval` overrides it.
   */
  approval?: 'required' | 'auto';
}

export interface Playbook {
  id: string;
  title: string;
  /** The anomaly classes (and optionally signals) this playbook answers. */
  classes: readonly AnomalyClass[];
  signals?: readonly string[];
  steps: readonly PlaybookStep[];
}

/** A step planned for one anomaly episode, with the key that rolls it back. */
export interface PlannedAction {
  /** Deterministic: the same episode and step always give the same key (idempotent apply/rollback). */
  rollbackKey: string;
  episodeId: string;
  tenant: string;
  region?: string;
  step: PlaybookStep;
}

/**
 * The control that really acted on a step, which is not always the step's `target`: a step whose
 * target is not configured may be written to the flag table instead (`unconfiguredTargets:
 * 'flag-table'`), and then nothing but a service reading that flag enforces it. Alerts, the ledger
 * and the report name this, never just the intended target.
 */
export interface ActedVia {
  /** The kind of control written. */
  control: TargetKind;
  /** Set when the step's own target was not configured and `control` stood in for it. */
  fallbackFor?: TargetKind;
  /** In words, e.g. `usage plan throttled` or `flag written for the service to read (no usage plan was changed)`. */
  description: string;
}

/** What was actually done: the previous value is what a rollback restores. */
export interface AppliedAction extends PlannedAction {
  previous: PlaybookStep['value'] | null;
  appliedAt: number;
  /** Target-specific reference (invalidation id, AppConfig deployment number, ...). */
  targetRef?: string;
  /** The control that acted (absent on actions recorded before it existed). */
  actedVia?: ActedVia;
}

/** What each kind of control does when it acts: the words of `ActedVia.description`. */
export const CONTROL_DESCRIPTIONS: Readonly<Record<TargetKind, string>> = {
  flag: 'flag written for the service to read',
  appconfig: 'AppConfig flag deployed',
  'usage-plan': 'usage plan throttled',
  'cdn-invalidation': 'CDN invalidation created',
  'waf-rate-limit': 'WAF rate-based rule limit set',
  webhook: 'webhook delivered to the service',
};

/** How a step really acted: its own control, or the flag table standing in for an unconfigured one. */
export function actedVia(target: TargetKind, fallbackFor?: TargetKind): ActedVia {
  if (fallbackFor === undefined || fallbackFor === target)
    return { control: target, description: CONTROL_DESCRIPTIONS[target] };
  return {
    control: target,
    fallbackFor,
    description:
      `${CONTROL_DESCRIPTIONS[target]} (${fallbackFor} is ` + `not configured: no ${fallbackFor} control was changed)`,
  };
}
