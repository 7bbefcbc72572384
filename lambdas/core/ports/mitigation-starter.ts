import type { Anomaly } from '../anomaly.js';

/** Seed 004 §I defaults: first regression check after 15 min, the final one at 60 min; staged rollback every 5 min. */
export interface MitigationTimings {
  observationSeconds: number;
  finalCheckSeconds: number;
  rollbackIntervalSeconds: number;
  /** How long a step waits for an operator's approval (default 900: 15 min); then nothing is applied. */
  approvalTimeoutSeconds?: number;
}

/** Starts the mitigation workflow for an episode, at most once: the execution name is derived from the episode. */
export interface MitigationStarter {
  start(
    anomaly: Anomaly,
    opts?: { automatic?: boolean; requestedPlan?: string },
  ): Promise<{ execution: string; started: boolean }>;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

/** What the operator API needs beyond starting: is an episode being mitigated, and stopping it. */
export interface MitigationControl extends MitigationStarter {
  /** The episode's execution (by episode hash), if one was ever started. */
  describe(hash: string): Promise<{ execution: string; status: ExecutionStatus } | undefined>;
  /** Stop the episode's execution if it is running; says whether it was. */
  stop(hash: string, cause: string): Promise<boolean>;
}
