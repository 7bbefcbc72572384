import type { AppliedAction } from '../mitigation/actions.js';

/**
 * One line of the action ledger: what was applied or rolled back, when, by which execution; and the approval trail of
 * steps that wait for an operator (`approval-requested`, then `approved`, `denied` or `approval-expired`, naming the
 * step as planned, with `by` the operator who decided and `note` their reason).
 */
export interface LedgerEntry {
  event: 'applied' | 'rolled-back' | 'rollback-skipped' | ApprovalEvent;
  at: number;
  action: AppliedAction;
  execution?: string;
  note?: string;
  /** Who decided an approval: the IAM principal, locally the CLI user. */
  by?: string;
}

export type ApprovalEvent = 'approval-requested' | 'approved' | 'denied' | 'approval-expired';

/**
 * A line of the write-ahead journal: the ledger's entries plus `intent`, written before a target is
 * called. An intent with no later `rolled-back` may have changed the control (the call may have
 * landed before a timeout, a throttled ledger put or a failed confirmation), so every rollback treats
 * it as applied. Its `action.previous` is not known yet (null): the targets keep the value they
 * replaced themselves (layer stacks, see lambdas/adapters/targets/layers.ts) and undo only their own.
 */
export interface JournalEntry extends Omit<LedgerEntry, 'event'> {
  event: LedgerEntry['event'] | 'intent';
}

/** Every applied and rolled-back action, per episode: what a rollback, the report and the dashboard read. */
export interface ActionLedger {
  record(entry: JournalEntry): Promise<void>;
  /** What happened to the episode's actions (by its rollback key, `rb-<hash>`), oldest first; no intents. */
  entries(episodeRollbackKey: string): Promise<LedgerEntry[]>;
  /** The same with the intents: what rollbacks read to find everything that may be in effect. */
  journal(episodeRollbackKey: string): Promise<JournalEntry[]>;
  /**
   * An operator rolled the episode back: nothing more may be applied for it. Stopping an execution
   * does not stop a task already running, so the apply task checks this before every action.
   */
  halt(episodeRollbackKey: string, by: string, at: number): Promise<void>;
  halted(episodeRollbackKey: string): Promise<boolean>;
}
