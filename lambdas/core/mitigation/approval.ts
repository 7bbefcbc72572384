import type { ActionLevel, PlannedAction } from './actions.js';
import { episodeKeyOf } from './journal.js';
import type { HandedOffStep } from './plan.js';

/** An operator's answer to an approval request. */
export type ApprovalDecision = 'approve' | 'deny';
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/**
 * One stage of one execution waiting for a person (seed 004: "operator intervention reduced to one
 * approval click"): the steps the guardrails would allow only with an approval, the Step Functions
 * task token the execution waits on, and, once answered, who decided what and why.
 */
export interface ApprovalRequest {
  /** `<episode rollback key>-approve-<stage>`: what the page, the CLI and the API name. */
  key: string;
  /** The episode's rollback key (`rb-<hash>`). */
  rollbackKey: string;
  stage: ActionLevel;
  anomalyKey: string;
  tenant: string;
  signal: string;
  incident?: string;
  plan: string;
  playbook: string;
  /** The steps as they would be applied, with why each waits. */
  steps: { action: PlannedAction; reason: string; policies: string[] }[];
  /** The task token the execution waits on (never shown to an operator). */
  token: string;
  execution: string;
  requestedAt: number;
  /** After this nothing is applied; the execution's task times out and hands off. */
  answerBy: number;
  status: ApprovalStatus;
  decidedBy?: string;
  decidedAt?: number;
  reason?: string;
}

/** The key of a stage's approval request. */
export function approvalKey(rollbackKey: string, stage: ActionLevel): string {
  return `${rollbackKey}-approve-${stage}`;
}

/** `rb-<hash>-approve-hard` → `{ rollbackKey: 'rb-<hash>', stage: 'hard' }`; undefined for anything else. */
export function parseApprovalKey(key: string): { rollbackKey: string; stage: ActionLevel } | undefined {
  const m = /^(rb-[0-9a-z]+)-approve-(soft|hard)$/.exec(key);
  return m ? { rollbackKey: episodeKeyOf(m[1]!), stage: m[2] as ActionLevel } : undefined;
}

/** What an operator's answer does to a request, decided before anything is written. */
export type ApprovalAnswer =
  | { kind: 'decide'; status: 'approved' | 'denied' }
  /** The same answer again (a retried call): nothing changes, the first one stands. */
  | { kind: 'repeat' }
  | { kind: 'conflict'; reason: string };

/**
 * What an answer to `request` means: a request is answered once. Whether the execution still waits is for Step
 * Functions to say (the task token times out at `answerBy`; SendTaskSuccess after that fails): the caller stores the
 * answer, resumes the execution, and marks the request expired if it no longer waited.
 */
export function answerApproval(request: ApprovalRequest, decision: ApprovalDecision): ApprovalAnswer {
  const wanted = decision === 'approve' ? 'approved' : 'denied';
  if (request.status === wanted) return { kind: 'repeat' };
  if (request.status === 'expired')
    return {
      kind: 'conflict',
      reason: `the approval request expired at ${new Date(request.answerBy).toISOString()}: nothing was applied`,
    };
  if (request.status !== 'pending')
    return {
      kind: 'conflict',
      reason: `already ${request.status} by ${request.decidedBy ?? 'an operator'}; a request is answered once`,
    };
  return { kind: 'decide', status: wanted };
}

/** The steps of a stage that wait for approval, as an approval request lists them. */
export function approvalSteps(handedOff: readonly HandedOffStep[]): ApprovalRequest['steps'] {
  return handedOff
    .filter((h) => h.approvable)
    .map((h) => ({ action: h.action, reason: h.reason, policies: h.policies }));
}
