import type { ApprovalRequest, ApprovalStatus } from '../../core/mitigation/approval.js';
import type { ApprovalStore } from '../../core/ports/approval-store.js';

/** For the quality bench's walked executions and tests. */
export class InMemoryApprovalStore implements ApprovalStore {
  readonly requests = new Map<string, ApprovalRequest>();
  async request(request: ApprovalRequest): Promise<void> {
    const current = this.requests.get(request.key);
    if (!current || current.status === 'pending') this.requests.set(request.key, { ...request });
  }
  async get(key: string): Promise<ApprovalRequest | undefined> {
    const r = this.requests.get(key);
    return r && { ...r };
  }
  async ofEpisode(rollbackKey: string): Promise<ApprovalRequest[]> {
    return [...this.requests.values()]
      .filter((r) => r.rollbackKey === rollbackKey)
      .sort((a, b) => a.requestedAt - b.requestedAt);
  }
  async decide(
    key: string,
    answer: { status: 'approved' | 'denied' | 'expired'; by: string; at: number; reason?: string },
    from: ApprovalStatus = 'pending',
  ): Promise<boolean> {
    const r = this.requests.get(key);
    if (r?.status !== from) return false;
    this.requests.set(key, {
      ...r,
      status: answer.status,
      decidedBy: answer.by,
      decidedAt: answer.at,
      ...(answer.reason && { reason: answer.reason }),
    });
    return true;
  }
}
