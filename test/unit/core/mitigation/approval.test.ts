import { describe, expect, it } from 'vitest';
import { ROLLBACK_KEY } from '../../../../lambdas/core/api/schemas.js';
import {
  answerApproval,
  approvalKey,
  parseApprovalKey,
  type ApprovalRequest,
} from '../../../../lambdas/core/mitigation/approval.js';
import { peerRollbackKey, rollbackKey } from '../../../../lambdas/core/mitigation/keys.js';
import { planMitigation } from '../../../../lambdas/core/mitigation/plan.js';
import { ALLOW, BOTH_ALLOWED, DENY_HARD, MINUTE, T0, anomaly } from './fixtures.js';

const request = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  key: 'rb-1a2b3c4d-approve-hard',
  rollbackKey: 'rb-1a2b3c4d',
  stage: 'hard',
  anomalyKey: 'acme#cqs_p95@2026-11-22T10:00Z',
  tenant: 'acme',
  signal: 'cqs_p95',
  plan: 'plan-1a2b3c4d-search-cost',
  playbook: 'search-cost',
  steps: [],
  token: 'token',
  execution: 'mit-1a2b3c4d',
  requestedAt: T0,
  answerBy: T0 + 15 * MINUTE,
  status: 'pending',
  ...over,
});

describe('approval requests', () => {
  it('are named by the episode key and the stage, and the name parses back (nothing else does)', () => {
    expect(approvalKey('rb-1a2b3c4d', 'hard')).toBe('rb-1a2b3c4d-approve-hard');
    expect(parseApprovalKey('rb-1a2b3c4d-approve-soft')).toEqual({ rollbackKey: 'rb-1a2b3c4d', stage: 'soft' });
    for (const k of ['rb-1a2b3c4d', 'rb-1a2b3c4d-approve-later', 'rb-1a2b3c4d-search-cost.rows-limit', 'approve-hard'])
      expect(parseApprovalKey(k), k).toBeUndefined();
  });

  it('are answered once: the same answer again changes nothing, another one or an expired request conflicts', () => {
    expect(answerApproval(request(), 'approve')).toEqual({ kind: 'decide', status: 'approved' });
    expect(answerApproval(request(), 'deny')).toEqual({ kind: 'decide', status: 'denied' });
    expect(answerApproval(request({ status: 'approved', decidedBy: 'alice' }), 'approve')).toEqual({ kind: 'repeat' });
    expect(answerApproval(request({ status: 'approved', decidedBy: 'alice' }), 'deny')).toEqual({
      kind: 'conflict',
      reason: 'already approved by alice; a request is answered once',
    });
    const expired = answerApproval(request({ status: 'expired' }), 'approve');
    expect(expired.kind).toBe('conflict');
    expect(expired.kind === 'conflict' && expired.reason).toMatch(/expired at 2026-11-22T10:15:00.000Z: nothing/);
  });
});

describe('one plan for the incident: the other members as peers', () => {
  const ingest = { class: 'tenant', signal: 'ingest_rpm', expected: 6000, observed: 30000 } as const;
  const peer = (tenant: string, guardrails = BOTH_ALLOWED) => ({
    anomaly: anomaly({ ...ingest, tenant, start: T0 + MINUTE }),
    guardrails,
  });

  it("plans each tenant-scoped step for every peer, with its own key in the episode's ledger", () => {
    const anchor = anomaly(ingest);
    const p = planMitigation(anchor, { guardrails: BOTH_ALLOWED, now: T0, peers: [peer('globex'), peer('initech')] });
    const soft = p.stages[0]!.actions;
    expect(soft.map((a) => [a.step.id, a.tenant])).toEqual([
      ['ingest-surge/burst-credit', 'acme'],
      ['ingest-surge/burst-credit', 'globex'],
      ['ingest-surge/burst-credit', 'initech'],
      ['ingest-surge/sampling', 'acme'],
      ['ingest-surge/sampling', 'globex'],
      ['ingest-surge/sampling', 'initech'],
      ['ingest-surge/trim-fields', 'acme'],
      ['ingest-surge/trim-fields', 'globex'],
      ['ingest-surge/trim-fields', 'initech'],
    ]);
    // The anchor keeps its key; every peer's is distinct, starts with the episode key and is a valid rollback key.
    expect(soft[0]!.rollbackKey).toBe(rollbackKey(anchor.id, 'ingest-surge/burst-credit'));
    const keys = soft.map((a) => a.rollbackKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) {
      expect(k.startsWith(p.rollbackKey)).toBe(true);
      expect(k).toMatch(ROLLBACK_KEY);
    }
    expect(soft.every((a) => a.episodeId === anchor.id)).toBe(true);
    expect(p.peers).toEqual([
      { tenant: 'globex', anomalyKey: peer('globex').anomaly.id },
      { tenant: 'initech', anomalyKey: peer('initech').anomaly.id },
    ]);
  });

  it('decides a peer by its own guardrails: a peer whose hard stage is denied gets soft steps only', () => {
    const p = planMitigation(anomaly(ingest), {
      guardrails: BOTH_ALLOWED,
      now: T0,
      peers: [peer('campaign', { soft: ALLOW, hard: DENY_HARD })],
    });
    const hard = p.stages[1]!;
    expect(hard.actions.map((a) => a.tenant)).toEqual(['acme', 'acme']);
    expect(hard.handedOff.map((h) => [h.action.tenant, h.approvable])).toEqual([
      ['campaign', false],
      ['campaign', false],
    ]);
    expect(p.stages[0]!.actions.filter((a) => a.tenant === 'campaign')).toHaveLength(3);
  });

  it('plans a platform-scoped step once, however many peers', () => {
    const edge = { class: 'infra', signal: 'edge_p95_ms', expected: 180, observed: 900 } as const;
    const p = planMitigation(anomaly(edge), {
      guardrails: { ...BOTH_ALLOWED, step: () => ALLOW },
      now: T0,
      peers: ['globex', 'initech'].map((t) => ({ anomaly: anomaly({ ...edge, tenant: t }), guardrails: BOTH_ALLOWED })),
    });
    const ids = p.stages.flatMap((s) => s.actions.map((a) => a.step.id));
    expect(ids).toEqual([...new Set(ids)]);
    expect(p.stages.flatMap((s) => s.actions).every((a) => a.tenant === 'acme')).toBe(true);
  });

  it('shortens a long or unusual tenant name in the key and keeps keys apart', () => {
    const a = peerRollbackKey(
      'acme#x@2026-11-22T10:00Z',
      'ingest-surge/sampling',
      'tenant:with:colons-and-a-long-name',
    );
    const b = peerRollbackKey(
      'acme#x@2026-11-22T10:00Z',
      'ingest-surge/sampling',
      'tenant:with:colons-and-a-long-nam3',
    );
    expect(a).toMatch(ROLLBACK_KEY);
    expect(a).not.toBe(b);
  });
});
