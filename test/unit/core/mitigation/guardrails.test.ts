import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { bundledGuardrails } from '../../../../lambdas/adapters/guardrails.js';
import {
  decideStages,
  type GuardrailContext,
  type GuardrailEnvironment,
  type GuardrailRequest,
  type GuardrailTarget,
} from '../../../../lambdas/core/mitigation/guardrail-request.js';
import { planMitigation } from '../../../../lambdas/core/mitigation/plan.js';
import { GUARDRAILS_POLICY } from '../../../../policies/embedded.js';
import { MINUTE, QUIET, T0, anomaly } from './fixtures.js';

const guardrails = bundledGuardrails();

/** A tenant's reversible flag in the deployment's region (kr). */
const TENANT_FLAG: GuardrailTarget = {
  kind: 'flag',
  flag: 'tenant/acme/search.rows.max',
  scope: 'tenant',
  reversible: true,
  regionBound: true,
  regions: ['kr'],
  needsApproval: false,
};
const PLATFORM_FLAG: GuardrailTarget = {
  kind: 'flag',
  flag: 'platform/origin.failover',
  scope: 'platform',
  reversible: true,
  regionBound: true,
  regions: ['kr'],
  needsApproval: false,
};
const INVALIDATION: GuardrailTarget = {
  kind: 'cdn-invalidation',
  flag: 'platform/cdn-invalidation:@distribution',
  scope: 'platform',
  reversible: false,
  regionBound: false,
  regions: [],
  needsApproval: false,
};
const WORKFLOW = { type: 'Workflow', id: 'mitigation' } as const;
const OPERATOR = { type: 'Operator', id: 'arn:aws:iam::123456789012:role/oncall' } as const;

interface Case {
  name: string;
  action?: GuardrailRequest['action'];
  principal?: GuardrailRequest['principal'];
  target?: boolean | GuardrailTarget;
  context: Partial<GuardrailContext>;
  allowed: boolean;
  /** The policies that decided, sorted (empty: default deny). */
  policies: string[];
}

const operator = { automatic: false };

/** Every rule, on both sides. */
const CASES: Case[] = [
  // Soft and hard steps are permitted when nothing forbids them.
  { name: 'soft, automatic', context: {}, allowed: true, policies: ['permit-soft-apply'] },
  {
    name: 'soft, by an operator',
    principal: OPERATOR,
    context: operator,
    allowed: true,
    policies: ['permit-soft-apply'],
  },
  { name: 'hard, automatic', context: { level: 'hard' }, allowed: true, policies: ['permit-hard-apply'] },
  {
    name: 'hard, on one target of the tenant',
    target: true,
    context: { level: 'hard' },
    allowed: true,
    policies: ['permit-hard-apply'],
  },
  // deny-cross-region
  { name: 'cross-region soft', context: { crossRegion: true }, allowed: false, policies: ['deny-cross-region'] },
  {
    name: 'cross-region hard, even by an operator',
    principal: OPERATOR,
    context: { ...operator, level: 'hard', crossRegion: true },
    allowed: false,
    policies: ['deny-cross-region'],
  },
  // campaign-soft-only
  {
    name: 'whitelisted campaign, soft',
    context: { whitelistedCampaign: true },
    allowed: true,
    policies: ['permit-soft-apply'],
  },
  {
    name: 'whitelisted campaign, hard',
    context: { whitelistedCampaign: true, level: 'hard' },
    allowed: false,
    policies: ['campaign-soft-only'],
  },
  {
    name: 'whitelisted campaign, hard, even by an operator',
    principal: OPERATOR,
    context: { ...operator, whitelistedCampaign: true, level: 'hard' },
    allowed: false,
    policies: ['campaign-soft-only'],
  },
  // release-prefers-rollback / operator-overrides-release-guard
  {
    name: 'release within 30 min, automatic soft',
    context: { releaseWithin30m: true },
    allowed: false,
    policies: ['release-prefers-rollback'],
  },
  {
    name: 'release within 30 min, automatic hard',
    context: { releaseWithin30m: true, level: 'hard' },
    allowed: false,
    policies: ['release-prefers-rollback'],
  },
  {
    name: 'release within 30 min, operator soft',
    principal: OPERATOR,
    context: { ...operator, releaseWithin30m: true },
    allowed: true,
    policies: ['operator-overrides-release-guard', 'permit-soft-apply'],
  },
  {
    name: 'release within 30 min, operator hard',
    principal: OPERATOR,
    context: { ...operator, releaseWithin30m: true, level: 'hard' },
    allowed: true,
    policies: ['operator-overrides-release-guard', 'permit-hard-apply'],
  },
  {
    name: 'release within 30 min, operator-started workflow',
    context: { ...operator, releaseWithin30m: true },
    allowed: true,
    policies: ['operator-overrides-release-guard', 'permit-soft-apply'],
  },
  {
    name: 'release within 30 min, operator hard for a campaign tenant',
    principal: OPERATOR,
    context: { ...operator, releaseWithin30m: true, whitelistedCampaign: true, level: 'hard' },
    allowed: false,
    policies: ['campaign-soft-only'],
  },
  // kill-switch
  { name: 'kill switch, automatic', context: { killSwitch: true }, allowed: false, policies: ['kill-switch'] },
  {
    name: 'kill switch, operator',
    principal: OPERATOR,
    context: { ...operator, killSwitch: true },
    allowed: true,
    policies: ['permit-soft-apply'],
  },
  {
    name: 'every forbid at once: all of them are the reasons',
    context: { killSwitch: true, crossRegion: true, releaseWithin30m: true, whitelistedCampaign: true, level: 'hard' },
    allowed: false,
    policies: ['campaign-soft-only', 'deny-cross-region', 'kill-switch', 'release-prefers-rollback'],
  },
  // permit-rollback: undoing is never blocked
  {
    name: 'rollback, automatic, with every guardrail up',
    action: 'rollback',
    context: { killSwitch: true, crossRegion: true, releaseWithin30m: true, whitelistedCampaign: true, level: 'hard' },
    allowed: true,
    policies: ['permit-rollback'],
  },
  {
    name: 'rollback of one target by an operator',
    action: 'rollback',
    principal: OPERATOR,
    target: true,
    context: operator,
    allowed: true,
    policies: ['permit-rollback'],
  },
  {
    name: 'rollback of a platform step after a one-tenant anomaly',
    action: 'rollback',
    target: PLATFORM_FLAG,
    context: { tenantsAffected: 1 },
    allowed: true,
    policies: ['permit-rollback'],
  },
  // platform-step-needs-multi-tenant-incident / irreversible-step-needs-multi-tenant-incident
  {
    name: 'platform step, one tenant affected',
    target: PLATFORM_FLAG,
    context: { level: 'hard' },
    allowed: false,
    policies: ['platform-step-needs-multi-tenant-incident'],
  },
  {
    name: 'platform step, two tenants of three needed',
    target: PLATFORM_FLAG,
    context: { tenantsAffected: 2 },
    allowed: false,
    policies: ['platform-step-needs-multi-tenant-incident'],
  },
  {
    name: 'platform step, incident on three tenants',
    target: PLATFORM_FLAG,
    context: { tenantsAffected: 3, level: 'hard' },
    allowed: true,
    policies: ['permit-hard-apply'],
  },
  {
    name: 'platform step, one tenant, started by an operator but not approved step by step',
    principal: OPERATOR,
    target: PLATFORM_FLAG,
    context: operator,
    allowed: false,
    policies: ['platform-step-needs-multi-tenant-incident'],
  },
  {
    name: 'platform step, one tenant, approved by an operator',
    target: PLATFORM_FLAG,
    context: { approved: true },
    allowed: true,
    policies: ['permit-soft-apply'],
  },
  {
    name: 'irreversible platform step (invalidation), one tenant, approved',
    target: INVALIDATION,
    context: { approved: true },
    allowed: true,
    policies: ['permit-soft-apply'],
  },
  // step-needs-approval
  {
    name: 'step that waits for approval, not approved, even on a wide incident',
    target: { ...TENANT_FLAG, needsApproval: true },
    context: { level: 'hard', tenantsAffected: 50 },
    allowed: false,
    policies: ['step-needs-approval'],
  },
  {
    name: 'step that waits for approval, approved',
    target: { ...TENANT_FLAG, needsApproval: true },
    context: { level: 'hard', approved: true },
    allowed: true,
    policies: ['permit-hard-apply'],
  },
  {
    name: 'approved step while the kill switch is on: the pause wins',
    target: { ...TENANT_FLAG, needsApproval: true },
    context: { level: 'hard', approved: true, killSwitch: true },
    allowed: false,
    policies: ['kill-switch'],
  },
  {
    name: 'approved step in a region the anomaly did not touch',
    target: { ...TENANT_FLAG, needsApproval: true, regions: ['us'] },
    context: { level: 'hard', approved: true },
    allowed: false,
    policies: ['deny-region-not-touched'],
  },
  {
    name: 'irreversible platform step (invalidation), one tenant',
    target: INVALIDATION,
    context: {},
    allowed: false,
    policies: ['irreversible-step-needs-multi-tenant-incident', 'platform-step-needs-multi-tenant-incident'],
  },
  {
    name: 'irreversible tenant step, one tenant',
    target: { ...TENANT_FLAG, reversible: false },
    context: {},
    allowed: false,
    policies: ['irreversible-step-needs-multi-tenant-incident'],
  },
  {
    name: 'irreversible platform step, incident on five tenants of a threshold of five',
    target: INVALIDATION,
    context: { tenantsAffected: 5, platformMinTenants: 5 },
    allowed: true,
    policies: ['permit-soft-apply'],
  },
  { name: 'tenant step, one tenant', target: TENANT_FLAG, context: {}, allowed: true, policies: ['permit-soft-apply'] },
  // unknown-region-not-automatic
  {
    name: 'no known region, automatic, region-bound control',
    target: TENANT_FLAG,
    context: { regionKnown: false, anomalyRegions: [] },
    allowed: false,
    policies: ['unknown-region-not-automatic'],
  },
  {
    name: 'no known region, by an operator',
    principal: OPERATOR,
    target: TENANT_FLAG,
    context: { ...operator, regionKnown: false, anomalyRegions: [] },
    allowed: true,
    policies: ['permit-soft-apply'],
  },
  {
    name: 'no known region, automatic, a control bound to no region',
    target: { ...TENANT_FLAG, regionBound: false, regions: [] },
    context: { regionKnown: false, anomalyRegions: [] },
    allowed: true,
    policies: ['permit-soft-apply'],
  },
  // deny-region-not-touched
  {
    name: 'a control in a region the anomaly did not touch',
    target: { ...TENANT_FLAG, regions: ['us'] },
    context: {},
    allowed: false,
    policies: ['deny-region-not-touched'],
  },
  {
    name: 'a control in a region the anomaly did not touch, even by an operator',
    principal: OPERATOR,
    target: { ...TENANT_FLAG, regions: ['us'] },
    context: operator,
    allowed: false,
    policies: ['deny-region-not-touched'],
  },
  {
    name: "a control in one of the anomaly's regions",
    target: TENANT_FLAG,
    context: { anomalyRegions: ['jp', 'kr'] },
    allowed: true,
    policies: ['permit-soft-apply'],
  },
  // Default deny: what no permit names.
  {
    name: 'a level that is neither soft nor hard',
    context: { level: 'medium' as GuardrailContext['level'] },
    allowed: false,
    policies: [],
  },
];

const request = (c: Case): GuardrailRequest => ({
  principal: c.principal ?? WORKFLOW,
  action: c.action ?? 'apply',
  resource: c.target ? { tenant: 'acme', target: c.target === true ? TENANT_FLAG : c.target } : { tenant: 'acme' },
  context: { ...QUIET, ...c.context },
});

describe('guardrail policies (policies/guardrails.cedar)', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const d = guardrails.evaluate(request(c));
    expect({ allowed: d.allowed, policies: d.policies, errors: d.errors }).toEqual({
      allowed: c.allowed,
      policies: c.policies,
      errors: [],
    });
    expect(d.reasons).toHaveLength(Math.max(1, c.policies.length));
  });

  it('the table exercises every policy in the file', () => {
    const exercised = new Set(CASES.flatMap((c) => c.policies));
    expect([...guardrails.policyIds].sort()).toEqual([...exercised].sort());
  });

  it('reasons read as "<id>: <@reason>"; a default deny says so', () => {
    expect(
      guardrails.evaluate(
        request({ name: '', context: { whitelistedCampaign: true, level: 'hard' }, allowed: false, policies: [] }),
      ).reasons,
    ).toEqual(['campaign-soft-only: whitelisted campaign tenant: soft steps only']);
    expect(
      guardrails.evaluate(
        request({ name: '', context: { level: 'medium' as GuardrailContext['level'] }, allowed: false, policies: [] }),
      ).reasons,
    ).toEqual(['default-deny: no policy permits apply at level "medium"']);
  });

  it('default deny: an unknown action is denied, with the error', () => {
    const d = guardrails.evaluate({
      ...request({ name: '', context: {}, allowed: false, policies: [] }),
      action: 'delete' as GuardrailRequest['action'],
    });
    expect(d.allowed).toBe(false);
    expect(d.policies).toEqual([]);
    expect(d.errors.join()).toMatch(/AnomalyGuard::Action::"delete".*does not exist/);
  });

  it('default deny comes from the policies too, not only from the schema check', () => {
    const ask = (action: string) =>
      isAuthorized({
        principal: { type: 'AnomalyGuard::Workflow', id: 'w' },
        action: { type: 'AnomalyGuard::Action', id: action },
        resource: { type: 'AnomalyGuard::Tenant', id: 'acme' },
        context: { ...QUIET },
        policies: { staticPolicies: GUARDRAILS_POLICY },
        entities: [],
      });
    const unknown = ask('delete');
    expect(unknown.type === 'success' && unknown.response).toMatchObject({
      decision: 'deny',
      diagnostics: { reason: [] },
    });
    const known = ask('apply');
    expect(known.type === 'success' && known.response.decision).toBe('allow');
  });

  it('malformed requests are denied with the reason, never allowed', () => {
    const unknownPrincipal = guardrails.evaluate({
      ...request({ name: '', context: {}, allowed: false, policies: [] }),
      principal: { type: 'Robot' as 'Operator', id: 'r' },
    });
    expect(unknownPrincipal.allowed).toBe(false);
    expect(unknownPrincipal.errors).not.toEqual([]);
    const { killSwitch: _dropped, ...partial } = QUIET;
    const missing = guardrails.evaluate({
      ...request({ name: '', context: {}, allowed: false, policies: [] }),
      context: partial as GuardrailContext,
    });
    expect(missing.allowed).toBe(false);
    expect(missing.errors.join()).toMatch(/killSwitch/);
  });
});

describe('planning with the real guardrails', () => {
  const env: GuardrailEnvironment = {
    now: T0 + 4 * MINUTE,
    principal: WORKFLOW,
    automatic: true,
    deploymentRegion: 'kr',
  };
  const plan = (a: ReturnType<typeof anomaly>, e: GuardrailEnvironment = env) =>
    planMitigation(a, { guardrails: decideStages(a, e, guardrails), now: e.now });
  const release = { tenant: 'acme', change: 'release' as const, ts: T0 - 8 * MINUTE, offsetMinutes: 8, id: 'rel-381' };

  it('a plain spike: both stages allowed', () => {
    expect(plan(anomaly()).stages.map((s) => s.allowed)).toEqual([true, true]);
  });

  it('a whitelisted campaign tenant: soft only', () => {
    const p = plan(anomaly({ softOnly: true }));
    expect(p.allowed).toBe(true);
    expect(p.stages.map((s) => s.allowed)).toEqual([true, false]);
    expect(p.reasons).toContain('hard: campaign-soft-only: whitelisted campaign tenant: soft steps only');
  });

  it('a release 8 min before: nothing automatic; an operator may still go ahead, and the plan says so', () => {
    const auto = plan(anomaly({ correlatedChanges: [release] }));
    expect(auto.allowed).toBe(false);
    expect(auto.reasons[0]).toMatch(/^soft: release-prefers-rollback: /);
    const byOperator = plan(anomaly({ correlatedChanges: [release] }), {
      ...env,
      principal: OPERATOR,
      automatic: false,
    });
    expect(byOperator.allowed).toBe(true);
    expect(byOperator.reasons).toContain(
      'soft: operator-overrides-release-guard: operator-triggered despite a change within 30 min: the operator ' +
        'judged the change is not the cause',
    );
  });

  it(
    "one tenant's edge latency: no automatic CDN invalidation, failover or WAF challenge (platform-wide / " +
      'irreversible), each waits for an approval; an incident on three tenants applies the soft ones itself',
    () => {
      const edge = anomaly({ class: 'infra', signal: 'edge_p95_ms', expected: 120, observed: 900 });
      const alone = plan(edge);
      expect(alone.stages.flatMap((s) => s.actions)).toEqual([]);
      expect(alone.handedOff.map((h) => [h.stepId, h.approvable])).toEqual([
        ['origin-bottleneck/cache-key-normalise', true],
        ['origin-bottleneck/cdn-invalidate', true],
        ['origin-bottleneck/read-only-failover', true],
        ['origin-bottleneck/challenge', true],
      ]);
      expect(alone.handedOff[1]!.policies).toEqual([
        'irreversible-step-needs-multi-tenant-incident',
        'platform-step-needs-multi-tenant-incident',
      ]);
      // The run starts, to ask an operator for the soft steps.
      expect(alone.allowed).toBe(true);
      expect(plan(edge, { ...env, tenantsAffected: 2 }).stages[0]!.actions).toEqual([]);
      const wide = plan(edge, { ...env, tenantsAffected: 3 });
      expect(wide.allowed).toBe(true);
      expect(wide.stages.map((s) => s.actions.length)).toEqual([2, 0]);
      // Hard steps wait for a person however wide the incident (step-needs-approval).
      expect(wide.handedOff.map((h) => [h.stepId, h.approvable, h.policies])).toEqual([
        ['origin-bottleneck/read-only-failover', true, ['step-needs-approval']],
        ['origin-bottleneck/challenge', true, ['step-needs-approval']],
      ]);
      // A threshold the deployment set higher holds too.
      expect(plan(edge, { ...env, tenantsAffected: 3, platformMinTenants: 4 }).stages[0]!.actions).toEqual([]);
      // A step the deployment sets to `auto` does not wait (other guardrails still apply).
      const auto = plan(edge, {
        ...env,
        tenantsAffected: 3,
        stepApproval: { 'origin-bottleneck/read-only-failover': 'auto' },
      });
      expect(auto.stages[1]!.actions.map((a) => a.step.id)).toEqual(['origin-bottleneck/read-only-failover']);
    },
  );

  it(
    "an anomaly whose records named no region: no automatic change of a control in the deployment's region " +
      'without an approval; an operator-started run may',
    () => {
      const unknown = anomaly({ region: undefined });
      expect(plan(unknown).stages[0]!.actions).toEqual([]);
      expect(plan(unknown).handedOff[0]!.policies).toEqual(['unknown-region-not-automatic']);
      expect(plan(unknown).handedOff[0]!.approvable).toBe(true);
      expect(plan(unknown, { ...env, principal: OPERATOR, automatic: false }).stages[0]!.actions).not.toEqual([]);
      // A deployment bound to no region has nothing region-bound.
      expect(plan(unknown, { ...env, deploymentRegion: undefined }).stages[0]!.actions).not.toEqual([]);
    },
  );

  it('a tenant seen in two regions is cross-region whichever record came last', () => {
    expect(plan(anomaly({ region: 'kr', regions: ['kr', 'us'] })).allowed).toBe(false);
    expect(plan(anomaly({ region: 'kr', regions: ['kr'] })).allowed).toBe(true);
    // A stored anomaly from before `regions`: its single region decides.
    expect(plan(anomaly({ region: 'us' })).allowed).toBe(false);
  });

  it('an anomaly in another region: nothing, for anyone', () => {
    expect(plan(anomaly({ region: 'us' })).stages.map((s) => s.allowed)).toEqual([false, false]);
    expect(plan(anomaly({ region: 'us' }), { ...env, principal: OPERATOR, automatic: false }).allowed).toBe(false);
  });
});
