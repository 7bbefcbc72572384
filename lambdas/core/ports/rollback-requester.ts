/** The operator API asks for a rollback; the mitigation task Lambda, which holds the targets' permissions, does it. */
export interface RollbackRequester {
  request(key: string, requestedBy: string): Promise<void>;
}

/** The task event that rolls back by key (see lambdas/handlers/mitigation-workflow.ts). */
export interface RollbackByKeyEvent {
  op: 'rollback-key';
  key: string;
  requestedBy: string;
}
