import type { ApprovalRequest, ApprovalStatus } from '../mitigation/approval.js';

/** Approval requests of the mitigation workflow (`approval#<rollback key>`, one item per stage). */
export interface ApprovalStore {
  /** Store a new request; a retried task that asks again for the same stage replaces its own pending request. */
  request(request: ApprovalRequest): Promise<void>;
  get(key: string): Promise<ApprovalRequest | undefined>;
  /** Every request of an episode (by its rollback key), oldest first. */
  ofEpisode(rollbackKey: string): Promise<ApprovalRequest[]>;
  /**
   * Record the answer if the request is still pending (conditional write): false if it was answered or expired
   * meanwhile.
   */
  decide(
    key: string,
    answer: { status: Exclude<ApprovalStatus, 'pending'>; by: string; at: number; reason?: string },
    /** The status the request must still have (default `pending`). */
    from?: ApprovalStatus,
  ): Promise<boolean>;
}

/** Resumes an execution waiting on a task token (Step Functions SendTaskSuccess). */
export interface TaskTokenResponder {
  /** `expired`: the execution no longer waits on this token (timed out, stopped, or already answered). */
  succeed(token: string, output: Record<string, unknown>): Promise<'delivered' | 'expired'>;
}
