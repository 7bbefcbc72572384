import { describe, expect, it } from 'vitest';
import type { ResolvedLimit } from '../../../../lambdas/core/mitigation/actions.js';
import {
  applyRequest,
  decideStages,
  releaseWithin30m,
  type GuardrailEnvironment,
  type GuardrailRequest,
} from '../../../../lambdas/core/mitigation/guardrail-request.js';
import { controlKey, episodeRollbackKey, rollbackKey } from '../../../../lambdas/core/mitigation/keys.js';
import {
  incidentSignals,
  nextStage,
  planMitigation,
  redecideStage,
  type MitigationPlan,
} from '../../../../lambdas/core/mitigation/plan.js';
import { ORIGIN_BOTTLENECK, SEARCH_COST, UnknownPlaybookError } from '../../../../lambdas/core/mitigation/playbooks.js';
import { assessRegression, type SignalSnapshot } from '../../../../lambdas/core/mitigation/regression.js';
import { ALLOW, BOTH_ALLOWED, DENY_HARD, MINUTE, QUIET, T0, anomaly } from './fixtures.js';

const NOW = T0 + 4 * MINUTE;
const plan = (
  over: Parameters<typeof anomaly>[0] = {},
  opts: Partial<Parameters<typeof planMitigation>[1]> = {},
): MitigationPlan => planMitigation(anomaly(over), { guardrails: BOTH_ALLOWED, now: NOW, ...opts });
const stepIds = (p: MitigationPlan, level: 'soft' | 'hard') =>
  p.stages.find((s) => s.level === level)!.actions.map((a) => a.step.id);

describe('planMitigation: the playbook for the anomaly', () => {
  it.each([
    [{ class: 'tenant', signal: 'ingest_rpm', expected: 6000, observed: 30000 }, 'ingest-surge'],
    [{ class: 'app', signal: 'cqs_p95' }, 'search-cost'],
    [{ class: 'infra', signal: 'filter_cache_hit', expected: 0.9, observed: 0.4 }, 'search-cost'],
    [{ class: 'abuse', signal: 'notify_rpm', expected: 120, observed: 2400 }, 'notification-storm'],
    [{ class: 'infra', signal: 'edge_p95_ms', expected: 180, observed: 900 }, 'origin-bottleneck'],
  ] as const)('%o → %s', (over, playbook) => {
    const p = plan(over);
    expect(p.playbook.id).toBe(playbook);
    expect(p.selectedBy).toBe('signal+class');
    expect(p.class).toBe(over.class);
  });

  it('the seed example (KR search cost spike): the soft stage, then the hard stage, in playbook order', () => {
    const p = plan();
    expect(p.stages.map((s) => s.level)).toEqual(['soft', 'hard']);
    expect(stepIds(p, 'soft')).toEqual(['search-cost/cache-ttl', 'search-cost/rows-limit', 'search-cost/facet-limit']);
    expect(stepIds(p, 'hard')).toEqual(['search-cost/saved-queries-only', 'search-cost/block-expensive']);
    for (const stage of p.stages) for (const a of stage.actions) expect(a.step.level).toBe(stage.level);
    expect(p).toMatchObject({
      episodeId: 'acme#cqs_p95@2026-11-22T10:00Z',
      anomalyKey: 'acme#cqs_p95',
      tenant: 'acme',
      region: 'kr',
      signal: 'cqs_p95',
      createdAt: NOW,
      allowed: true,
      skipped: [],
    });
  });

  it(
    'planned actions carry the episode, tenant, region and ' + 'a copy of the step (the tenant comes from the action)',
    () => {
      const p = plan();
      const rows = p.stages[0]!.actions[1]!;
      expect(rows).toEqual({
        rollbackKey: rollbackKey(p.episodeId, 'search-cost/rows-limit'),
        episodeId: p.episodeId,
        tenant: 'acme',
        region: 'kr',
        step: SEARCH_COST.steps[1],
      });
      expect(rows.step).not.toBe(SEARCH_COST.steps[1]);
      const origin = plan({ class: 'infra', signal: 'origin_p95_ms', expected: 120, observed: 800 });
      expect(origin.stages[0]!.actions.map((a) => [a.step.scope, a.step.flag])).toEqual([
        ['platform', 'cdn.cache_key.normalise'],
        ['platform', '@distribution'],
      ]);
      expect(plan({ region: undefined }).stages[0]!.actions[0]).not.toHaveProperty('region');
    },
  );

  it('control keys: tenant/<tenant>/<name> unless platform-scoped; <kind>:<flag> for AWS controls', () => {
    expect(controlKey({ target: 'flag', flag: 'search.rows.max' }, 'acme')).toBe('tenant/acme/search.rows.max');
    expect(controlKey({ target: 'flag', flag: 'search.rows.max', scope: 'tenant' }, 'beta')).toBe(
      'tenant/beta/search.rows.max',
    );
    expect(controlKey({ target: 'flag', flag: 'origin.failover', scope: 'platform' }, 'acme')).toBe(
      'platform/origin.failover',
    );
    expect(controlKey({ target: 'usage-plan', flag: '@tenant' }, 'acme')).toBe('tenant/acme/usage-plan:@tenant');
    expect(controlKey({ target: 'waf-rate-limit', flag: 'anomaly-guard-challenge', scope: 'platform' }, 'acme')).toBe(
      'platform/waf-rate-limit:anomaly-guard-challenge',
    );
  });
});

describe('planMitigation: deterministic ids and rollback keys', () => {
  it('the same episode and step always give the same key; another episode or step gives another', () => {
    const a = plan();
    const again = planMitigation(anomaly(), { guardrails: BOTH_ALLOWED, now: NOW + 10 * MINUTE });
    const keys = (p: MitigationPlan) => p.stages.flatMap((s) => s.actions.map((x) => x.rollbackKey));
    expect(keys(again)).toEqual(keys(a));
    expect(again.id).toBe(a.id);
    expect(new Set(keys(a)).size).toBe(keys(a).length);
    const later = plan({ start: T0 + 60 * MINUTE });
    expect(keys(later).some((k) => keys(a).includes(k))).toBe(false);
    expect(later.id).not.toBe(a.id);
    const otherTenant = plan({ tenant: 'beta' });
    expect(keys(otherTenant).some((k) => keys(a).includes(k))).toBe(false);
  });

  it('keys are short, URL- and name-safe, and every action key starts with the episode key', () => {
    const p = plan();
    expect(p.rollbackKey).toBe(episodeRollbackKey(p.episodeId));
    expect(p.rollbackKey).toMatch(/^rb-[0-9a-z]{8,12}$/);
    for (const a of p.stages.flatMap((s) => s.actions)) {
      expect(a.rollbackKey.startsWith(`${p.rollbackKey}-`)).toBe(true);
      expect(a.rollbackKey).toBe(rollbackKey(p.episodeId, a.step.id));
      expect(a.rollbackKey).toMatch(/^[a-z0-9.-]+$/);
    }
    expect(rollbackKey(p.episodeId, 'search-cost/rows-limit')).toBe(`${p.rollbackKey}-search-cost.rows-limit`);
    // A Step Functions execution name: 1-80 of letters, digits, - and _.
    expect(p.id).toMatch(/^plan-[0-9a-z]+-search-cost$/);
    for (const id of ['ingest-surge', 'notification-storm', 'origin-bottleneck'])
      expect(plan({}, { requestedPlan: id }).id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});

describe('planMitigation: requested playbook, guardrails, limits', () => {
  it('a requested playbook overrides the automatic choice', () => {
    const p = plan({}, { requestedPlan: 'origin-bottleneck' });
    expect(p.playbook.id).toBe('origin-bottleneck');
    expect(p.selectedBy).toBe('requested');
  });

  it('an unknown requested playbook is a clear error, not a silent default', () => {
    expect(() => plan({}, { requestedPlan: 'drop-tables' })).toThrow(UnknownPlaybookError);
    expect(() => plan({}, { requestedPlan: 'drop-tables' })).toThrow(/unknown playbook "drop-tables"/);
  });

  it('carries each stage decision and its reasons; a denied hard stage stays in the plan, marked not allowed', () => {
    const p = plan({ softOnly: true }, { guardrails: { soft: ALLOW, hard: DENY_HARD } });
    expect(p.allowed).toBe(true);
    expect(p.stages.map((s) => s.allowed)).toEqual([true, false]);
    expect(p.stages[1]!.decision).toBe(DENY_HARD);
    expect(p.stages[1]!.actions).toHaveLength(2);
    expect(p.reasons).toEqual([
      'soft: permit-soft-apply: soft steps may be applied',
      'hard: campaign-soft-only: whitelisted campaign tenant: soft steps only',
    ]);
  });

  it('a denied soft stage makes the whole plan not allowed (a dry run shows why)', () => {
    const deny = {
      allowed: false,
      reasons: ['kill-switch: automatic mitigation is paused (kill switch)'],
      policies: ['kill-switch'],
      errors: [],
    };
    const p = plan({}, { guardrails: { soft: deny, hard: deny } });
    expect(p.allowed).toBe(false);
    expect(p.reasons).toContain('soft: kill-switch: automatic mitigation is paused (kill switch)');
  });

  it(
    'rate limits derive from the baseline of the anomaly signal (records/min → requests/s), as a usage plan takes ' +
      'them',
    () => {
      const p = plan({ class: 'tenant', signal: 'ingest_rpm', expected: 6000, observed: 30000 });
      const burst = p.stages[0]!.actions[0]!;
      expect(burst.step).toMatchObject({ id: 'ingest-surge/burst-credit', target: 'usage-plan', flag: '@tenant' });
      expect(burst.step.value).toEqual<ResolvedLimit>({ rateLimit: 300, burstLimit: 300 });
      expect(p.stages[1]!.actions.find((a) => a.step.id === 'ingest-surge/rate-limit')!.step.value).toEqual({
        rateLimit: 150,
        burstLimit: 200,
      });
      expect(p.limits).toEqual([
        {
          stepId: 'ingest-surge/burst-credit',
          signal: 'ingest_rpm',
          expected: 6000,
          timesBaseline: 3,
          burstTimesBaseline: 3,
          per: 'second',
          limit: { rateLimit: 300, burstLimit: 300 },
        },
        {
          stepId: 'ingest-surge/rate-limit',
          signal: 'ingest_rpm',
          expected: 6000,
          timesBaseline: 1.5,
          burstTimesBaseline: 2,
          per: 'second',
          limit: { rateLimit: 150, burstLimit: 200 },
        },
      ]);
    },
  );

  it('a limit on another signal needs its baseline; without one the step is skipped, with the reason', () => {
    const storm = { class: 'abuse', signal: 'notify_rpm', expected: 120, observed: 2400 } as const;
    const p = plan(storm);
    expect(stepIds(p, 'hard')).toEqual(['notification-storm/digest', 'notification-storm/notify-rate-limit']);
    expect(p.stages[1]!.actions[1]!.step.value).toEqual({ rateLimit: 240, burstLimit: 240 });
    expect(p.limits.map((l) => [l.stepId, l.per])).toEqual([['notification-storm/notify-rate-limit', 'minute']]);
    expect(p.skipped).toEqual([
      { stepId: 'notification-storm/webhook-rate-limit', reason: expect.stringMatching(/no baseline for webhook_rps/) },
    ]);
    const withBaseline = plan(storm, { baselines: { webhook_rps: 10 } });
    expect(withBaseline.skipped).toEqual([]);
    expect(withBaseline.stages[1]!.actions[2]!.step.value).toEqual({ rateLimit: 20, burstLimit: 20 });
  });

  it('a zero baseline or a non-rate signal never yields a limit', () => {
    expect(
      plan({ class: 'tenant', signal: 'ingest_rpm', expected: 0, observed: 500 }).skipped.map((s) => s.reason),
    ).toEqual([expect.stringMatching(/would block all traffic/), expect.stringMatching(/would block all traffic/)]);
    const cost = plan({ class: 'app', signal: 'cir_p95', expected: 0.002, observed: 0.01 });
    expect(cost.playbook.id).toBe('ingest-surge');
    expect(cost.skipped.map((s) => s.stepId)).toEqual(['ingest-surge/burst-credit', 'ingest-surge/rate-limit']);
    expect(stepIds(cost, 'soft')).toEqual(['ingest-surge/sampling', 'ingest-surge/trim-fields']);
  });
});

describe('nextStage (seed 004 §I)', () => {
  const before: SignalSnapshot = { ts: NOW, observed: 0.0056, expected: 0.0037, band: { lo: 0.003, hi: 0.0044 } };
  const at = (observed: number): SignalSnapshot => ({
    ts: NOW + 15 * MINUTE,
    observed,
    expected: 0.0037,
    band: { lo: 0.003, hi: 0.0044 },
  });
  const recovered = assessRegression(before, at(0.0039), { bad: 'up' });
  const improving = assessRegression(before, at(0.0051), { bad: 'up' });
  const stuck = assessRegression(before, at(0.0057), { bad: 'up' });

  it('recovered → staged rollback', () => {
    expect(nextStage(plan(), 'soft', recovered)).toMatchObject({
      kind: 'rollback',
      reason: expect.stringMatching(/^recovered: /),
    });
    expect(nextStage(plan(), 'hard', recovered).kind).toBe('rollback');
  });

  it('improving → observe until the last check, then hand off to an operator', () => {
    expect(nextStage(plan(), 'soft', improving).kind).toBe('observe');
    expect(nextStage(plan(), 'soft', improving, { final: true }).kind).toBe('hand-off');
  });

  it('not recovered after soft → escalate to the hard stage where allowed', () => {
    const p = plan();
    const next = nextStage(p, 'soft', stuck);
    expect(next.kind).toBe('escalate');
    if (next.kind === 'escalate') expect(next.stage.actions.map((a) => a.step.id)).toEqual(stepIds(p, 'hard'));
  });

  it('not recovered, hard stage denied → hand off with the policy reasons, never escalate', () => {
    const next = nextStage(plan({}, { guardrails: { soft: ALLOW, hard: DENY_HARD } }), 'soft', stuck);
    expect(next).toMatchObject({ kind: 'hand-off', reason: expect.stringContaining('campaign-soft-only') });
  });

  it('a fresh decision at escalation time wins over the one made at planning', () => {
    const paused = {
      allowed: false,
      reasons: ['kill-switch: automatic mitigation is paused (kill switch)'],
      policies: ['kill-switch'],
      errors: [],
    };
    expect(nextStage(plan(), 'soft', stuck, { decision: paused })).toMatchObject({
      kind: 'hand-off',
      reason: expect.stringContaining('kill-switch'),
    });
    const next = nextStage(plan({}, { guardrails: { soft: ALLOW, hard: DENY_HARD } }), 'soft', stuck, {
      decision: ALLOW,
    });
    expect(next).toMatchObject({ kind: 'escalate', stage: { allowed: true, decision: ALLOW } });
  });

  it('not recovered after the hard stage, or nothing to escalate to → hand off', () => {
    expect(nextStage(plan(), 'hard', stuck).kind).toBe('hand-off');
    const noHard = plan();
    noHard.stages[1]!.actions = [];
    expect(nextStage(noHard, 'soft', stuck)).toMatchObject({
      kind: 'hand-off',
      reason: expect.stringContaining('no applicable steps'),
    });
  });
});

describe('guardrail requests', () => {
  const env: GuardrailEnvironment = {
    now: NOW,
    principal: { type: 'Workflow', id: 'mitigation' },
    automatic: true,
    deploymentRegion: 'kr',
  };
  const release = {
    tenant: 'acme',
    change: 'release' as const,
    ts: T0 - 10 * MINUTE,
    offsetMinutes: 10,
    id: 'rel-381',
  };

  it('builds the context from the anomaly and the environment', () => {
    expect(applyRequest(anomaly(), 'hard', env)).toEqual<GuardrailRequest>({
      principal: { type: 'Workflow', id: 'mitigation' },
      action: 'apply',
      resource: { tenant: 'acme' },
      context: { ...QUIET, level: 'hard' },
    });
  });

  it(
    'a step request names its control: scope, reversibility, ' +
      'regions; the incident size comes from the environment',
    () => {
      const invalidate = ORIGIN_BOTTLENECK.steps.find((s) => s.id === 'origin-bottleneck/cdn-invalidate')!;
      const failover = ORIGIN_BOTTLENECK.steps.find((s) => s.id === 'origin-bottleneck/read-only-failover')!;
      const rows = SEARCH_COST.steps[0]!;
      const r = applyRequest(anomaly(), 'soft', { ...env, tenantsAffected: 2, platformMinTenants: 4 }, invalidate);
      expect(r.resource.target).toEqual({
        kind: 'cdn-invalidation',
        flag: 'platform/cdn-invalidation:@distribution',
        scope: 'platform',
        reversible: false,
        regionBound: false,
        regions: [],
        needsApproval: false,
      });
      expect(r.context).toMatchObject({ tenantsAffected: 2, platformMinTenants: 4 });
      expect(applyRequest(anomaly(), 'hard', env, failover).resource.target).toMatchObject({
        scope: 'platform',
        reversible: true,
        regionBound: true,
        regions: ['kr'],
      });
      expect(applyRequest(anomaly(), 'soft', { ...env, deploymentRegion: undefined }, rows).resource.target).toEqual({
        kind: 'flag',
        flag: 'tenant/acme/search.cache.ttl_seconds',
        scope: 'tenant',
        reversible: true,
        regionBound: false,
        regions: [],
        needsApproval: false,
      });
    },
  );

  it('cross-region: any region of the anomaly is not the deployment\'s; no known region is unknown, not "here"', () => {
    expect(applyRequest(anomaly({ region: 'us' }), 'soft', env).context.crossRegion).toBe(true);
    expect(
      applyRequest(anomaly({ region: 'us' }), 'soft', { ...env, deploymentRegion: undefined }).context.crossRegion,
    ).toBe(false);
    expect(applyRequest(anomaly({ region: undefined }), 'soft', env).context).toMatchObject({
      crossRegion: false,
      regionKnown: false,
      anomalyRegions: [],
    });
    // The regions of the episode decide, not the last record's `region`.
    expect(applyRequest(anomaly({ region: 'kr', regions: ['kr', 'us'] }), 'soft', env).context).toMatchObject({
      crossRegion: true,
      anomalyRegions: ['kr', 'us'],
    });
    expect(applyRequest(anomaly({ region: 'us', regions: ['kr'] }), 'soft', env).context.crossRegion).toBe(false);
  });

  it('whitelisted campaign: as of detection (softOnly) or now', () => {
    expect(applyRequest(anomaly({ softOnly: true }), 'soft', env).context.whitelistedCampaign).toBe(true);
    expect(applyRequest(anomaly(), 'soft', { ...env, whitelisted: true }).context.whitelistedCampaign).toBe(true);
    expect(applyRequest(anomaly(), 'soft', { ...env, killSwitch: true }).context.killSwitch).toBe(true);
  });

  it('release within 30 min: a correlated release/flag/experiment, or a change record seen since, near now', () => {
    expect(releaseWithin30m(anomaly({ correlatedChanges: [release] }), NOW)).toBe(true);
    expect(releaseWithin30m(anomaly({ correlatedChanges: [{ ...release, change: 'experiment' }] }), NOW)).toBe(true);
    expect(releaseWithin30m(anomaly({ correlatedChanges: [{ ...release, change: 'campaign' }] }), NOW)).toBe(false);
    expect(releaseWithin30m(anomaly(), NOW)).toBe(false);
    const deployedNow = {
      v: 1 as const,
      type: 'change' as const,
      tenant: 'acme',
      change: 'release' as const,
      ts: NOW - 5 * MINUTE,
    };
    expect(releaseWithin30m(anomaly(), NOW, [deployedNow])).toBe(true);
    expect(releaseWithin30m(anomaly(), NOW, [{ ...deployedNow, tenant: 'beta' }])).toBe(false);
    expect(releaseWithin30m(anomaly(), NOW, [{ ...deployedNow, ts: NOW - 45 * MINUTE }])).toBe(false);
    expect(releaseWithin30m(anomaly(), NOW, [{ ...deployedNow, tenant: '*' }])).toBe(true);
  });

  it('decideStages asks once per stage, and per step on demand', () => {
    const seen: string[] = [];
    const decisions = decideStages(anomaly(), env, {
      evaluate: (r) => (
        seen.push(`${r.context.level}${r.resource.target ? ` ${r.resource.target.flag}` : ''}`),
        r.context.level === 'soft' ? ALLOW : DENY_HARD
      ),
    });
    expect(seen).toEqual(['soft', 'hard']);
    expect({ soft: decisions.soft, hard: decisions.hard }).toEqual({ soft: ALLOW, hard: DENY_HARD });
    expect(decisions.step!(SEARCH_COST.steps[0]!)).toEqual(ALLOW);
    expect(seen.at(-1)).toBe('soft tenant/acme/search.cache.ttl_seconds');
  });
});

describe('per-step decisions: steps handed off to an operator', () => {
  const origin = anomaly({ class: 'infra', signal: 'edge_p95_ms', expected: 120, observed: 900 });
  const platformDenied = {
    allowed: false,
    reasons: ['platform-step-needs-multi-tenant-incident: …'],
    policies: ['platform-step-needs-multi-tenant-incident'],
    errors: [],
  };
  const denyPlatform = {
    ...BOTH_ALLOWED,
    step: (s: { scope?: string }) => (s.scope === 'platform' ? platformDenied : ALLOW),
  };

  it(
    'a step its own guardrail denies is listed as handed off with the reason, not applied; the soft stage then ' +
      'has nothing to apply',
    () => {
      const p = planMitigation(origin, { guardrails: denyPlatform, now: NOW });
      expect(p.stages.map((s) => s.actions.length)).toEqual([0, 0]);
      expect(p.handedOff.map((h) => [h.stepId, h.cause, h.control])).toEqual([
        ['origin-bottleneck/cache-key-normalise', 'guardrail', 'platform/cdn.cache_key.normalise'],
        ['origin-bottleneck/cdn-invalidate', 'guardrail', 'platform/cdn-invalidation:@distribution'],
        ['origin-bottleneck/read-only-failover', 'guardrail', 'platform/origin.failover'],
        ['origin-bottleneck/challenge', 'guardrail', 'platform/waf-rate-limit:anomaly-guard-challenge'],
      ]);
      expect(p.allowed).toBe(false);
      expect(p.reasons).toContain(
        'soft: origin-bottleneck/cdn-invalidate handed off to an operator: ' +
          'platform-step-needs-multi-tenant-incident: …',
      );
    },
  );

  it('tenant-scoped steps of the same plan are unaffected', () => {
    const p = planMitigation(anomaly(), { guardrails: denyPlatform, now: NOW });
    expect(p.handedOff).toEqual([]);
    expect(p.stages[0]!.actions.map((a) => a.step.id)).toEqual(
      SEARCH_COST.steps.filter((s) => s.level === 'soft').map((s) => s.id),
    );
  });

  it(
    'a target the deployment does not configure (unconfiguredTargets: error) is handed off at planning, the rest ' +
      'of the stage stays',
    () => {
      const ingest = anomaly({ class: 'tenant', signal: 'ingest_rpm', expected: 6000, observed: 30000 });
      const p = planMitigation(ingest, {
        guardrails: BOTH_ALLOWED,
        now: NOW,
        unavailableTargets: { 'usage-plan': 'configure actionTargets.usagePlans' },
      });
      expect(p.stages[0]!.actions.map((a) => a.step.id)).toEqual(['ingest-surge/sampling', 'ingest-surge/trim-fields']);
      expect(p.stages[0]!.handedOff).toMatchObject([
        {
          stepId: 'ingest-surge/burst-credit',
          cause: 'target-not-configured',
          reason: 'target usage-plan is not configured: configure actionTargets.usagePlans',
        },
      ]);
      expect(p.allowed).toBe(true);
    },
  );

  it(
    'before escalating, the stage is re-decided: a wider incident by now lets the platform steps through, in ' +
      'playbook order',
    () => {
      const p = planMitigation(origin, { guardrails: denyPlatform, now: NOW });
      const wider = redecideStage(p, 'hard', { ...BOTH_ALLOWED, step: () => ALLOW });
      expect(wider.stages[1]!.actions.map((a) => a.step.id)).toEqual([
        'origin-bottleneck/read-only-failover',
        'origin-bottleneck/challenge',
      ]);
      expect(wider.stages[0]!.handedOff).toHaveLength(2);
      const stuck = assessRegression(
        { ts: T0, observed: 900, expected: 120 },
        { ts: T0 + 15 * MINUTE, observed: 900, expected: 120 },
        { bad: 'up' },
      );
      expect(nextStage(p, 'soft', stuck)).toMatchObject({
        kind: 'hand-off',
        reason: expect.stringContaining(
          "the hard stage's steps are for an operator (origin-bottleneck/read-only-failover: " +
            'platform-step-needs-multi-tenant-incident',
        ),
      });
      expect(nextStage(wider, 'soft', stuck).kind).toBe('escalate');
    },
  );

  it(
    "the incident counts anomalies on the playbook's signals: an origin bottleneck shows on edge and origin " +
      'latency alike',
    () => {
      expect(incidentSignals(origin)).toEqual(['cache_hit_ratio', 'edge_p95_ms', 'origin_p95_ms']);
      expect(incidentSignals(origin, 'no-such-playbook')).toEqual(['edge_p95_ms']);
    },
  );
});
