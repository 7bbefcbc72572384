import type { AnomalyClass } from '../classifier.js';

/** Soft steps first; hard steps only where the guardrails allow them (seed 004 §C, §I). */
export type ActionLevel = 'soft' | 'hard';

/**
 * Where an action is applied. `flag` is the built-in flag table services read; the others are
 * adapters for real AWS controls and a signed webhook, each enabled by configuration.
 */
export type TargetKind = 'flag' | 'appconfig' | 'usage-plan' | 'cdn-invalidation' | 'waf-rate-limit' | 'webhook';

/** One step of a playbook, as data. */
export interface PlaybookStep {
  /** Stable id within the playbook, e.g. `search-cost/rows-limit`. */
  id: string;
  title: string;
  level: ActionLevel;
  target: TargetKind;
  /** The flag (or control) the step sets, e.g. `search.rows.max`. */
  flag: string;
  /** The value applied while the step is active. */
  value: string | number | boolean | Record<string, unknown>;
  /** How the step is undone: put the previous value back, or nothing to undo (e.g. a cache invalidation). */
  undo: 'restore-previous' | 'none';
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

/** What was actually done: the previous value is what a rollback restores. */
export interface AppliedAction extends PlannedAction {
  previous: PlaybookStep['value'] | null;
  appliedAt: number;
  /** Target-specific reference (invalidation id, AppConfig deployment number, ...). */
  targetRef?: string;
}
