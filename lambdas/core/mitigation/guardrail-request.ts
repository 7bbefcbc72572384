import { regionsOf, type Anomaly } from '../anomaly.js';
import { CORRELATION_WINDOW_MS, correlateChanges, type CorrelatedChange } from '../correlator.js';
import type { ChangeRecord } from '../envelope.js';
import type { ActionLevel, FlagScope, PlaybookStep, TargetKind } from './actions.js';
import { controlKey } from './keys.js';
import type { Guardrails } from '../ports/guardrails.js';

/**
 * What the guardrail policies (policies/guardrails.cedar) are asked, and what they answer.
 * The core builds requests; the adapter (lambdas/adapters/guardrails.ts) evaluates them.
 */

/** The workflow acting on its own (consumer-triggered) or an operator through the API. */
export type GuardrailPrincipal = { type: 'Workflow' | 'Operator'; id: string };
export type GuardrailAction = 'apply' | 'rollback';

export interface GuardrailContext {
  level: ActionLevel;
  /** Started by the stream consumer's trigger rules, not by an operator. */
  automatic: boolean;
  /** The anomaly touched a region other than the deployment's (any of its regions). */
  crossRegion: boolean;
  /** At least one of the anomaly's records named a region. */
  regionKnown: boolean;
  /** The regions the anomaly touched (`regionsOf`). */
  anomalyRegions: string[];
  /**
   * Distinct tenants with an anomaly on the same or a related signal around this one, itself
   * included, counted from the anomaly store (never from the request or the producer).
   */
  tenantsAffected: number;
  /**
   * `mitigation.platformMinTenants`: the smallest incident a platform-wide or irreversible step may answer
   * automatically.
   */
  platformMinTenants: number;
  /** A release, flag or experiment change within 30 min (prefer rolling it back). */
  releaseWithin30m: boolean;
  /** The tenant runs a whitelisted campaign: soft steps only. */
  whitelistedCampaign: boolean;
  /** Global pause of automatic mitigation. */
  killSwitch: boolean;
  /** An operator approved this step (recorded in the ledger before it is applied). */
  approved: boolean;
}

/** One control, as the policies see it (the Cedar `Target` entity's attributes). */
export interface GuardrailTarget {
  kind: TargetKind;
  /** Its `controlKey`. */
  flag: string;
  scope: FlagScope;
  /** False for `undo: 'none'` (an invalidation): nothing can take it back. */
  reversible: boolean;
  /**
   * The control lives in the deployment's region (false: global, e.g. CloudFront, or the deployment names no region).
   */
  regionBound: boolean;
  /** The regions the control acts in: the deployment's for a region-bound control, else none. */
  regions: string[];
  /** The step waits for an operator's approval ({@link needsApproval}). */
  needsApproval: boolean;
}

export interface GuardrailRequest {
  principal: GuardrailPrincipal;
  action: GuardrailAction;
  /** The tenant, and the control when the request is about one step. */
  resource: { tenant: string; target?: GuardrailTarget };
  context: GuardrailContext;
}

export interface GuardrailDecision {
  allowed: boolean;
  /** Why, readable: `<policy id>: <@reason>` of every policy that decided, or the default deny. */
  reasons: string[];
  /** Ids of the policies that decided (empty on a default deny). */
  policies: string[];
  /** Evaluation errors; any error means the request was denied. */
  errors: string[];
}

/** What the caller knows at decision time that the anomaly record does not. */
export interface GuardrailEnvironment {
  now: number;
  principal: GuardrailPrincipal;
  automatic: boolean;
  /**
   * The region label this deployment acts in, in the producers' `region` vocabulary (e.g. `kr`).
   * Undefined: the deployment is not bound to a region and nothing counts as cross-region.
   */
  deploymentRegion?: string;
  /** The tenant is on the campaign whitelist now (the anomaly's `softOnly` is as of detection). */
  whitelisted?: boolean;
  killSwitch?: boolean;
  /** Change records seen since detection, checked against `now` as well. */
  recentChanges?: readonly ChangeRecord[];
  /** Distinct tenants in the incident, from the anomaly store (default 1: this anomaly's tenant only). */
  tenantsAffected?: number;
  /** Default {@link DEFAULT_PLATFORM_MIN_TENANTS}. */
  platformMinTenants?: number;
  /** `mitigation.stepApproval`: per step id, whether it waits for an operator, over the playbook's setting. */
  stepApproval?: StepApprovalConfig;
  /** The request is for steps an operator approved (the workflow read the decision from the approval store). */
  approved?: boolean;
}

/** Per step id: `required` waits for an operator, `auto` does not (subject to every other guardrail). */
export type StepApprovalConfig = Readonly<Partial<Record<string, 'required' | 'auto'>>>;

/**
 * Whether a step waits for an operator's approval: the deployment's `mitigation.stepApproval`, else the
 * playbook step's own `approval`, else hard steps do and soft steps do not.
 */
export function needsApproval(
  step: Pick<PlaybookStep, 'id' | 'level' | 'approval'>,
  config: StepApprovalConfig = {},
): boolean {
  return (config[step.id] ?? step.approval ?? (step.level === 'hard' ? 'required' : 'auto')) === 'required';
}

/** `mitigation.platformMinTenants` when the deployment does not set it. */
export const DEFAULT_PLATFORM_MIN_TENANTS = 3;

/** Target kinds whose control is global, not in the deployment's region (CloudFront is a global service). */
const GLOBAL_TARGETS: ReadonlySet<TargetKind> = new Set(['cdn-invalidation']);

/** The policies' view of the control a step changes, for a tenant, in a deployment. */
export function guardrailTarget(
  step: GuardrailStep,
  tenant: string,
  deploymentRegion: string | undefined,
  stepApproval?: StepApprovalConfig,
): GuardrailTarget {
  const regionBound = deploymentRegion !== undefined && !GLOBAL_TARGETS.has(step.target);
  return {
    kind: step.target,
    flag: controlKey(step, tenant),
    scope: step.scope ?? 'tenant',
    reversible: step.undo !== 'none',
    regionBound,
    regions: regionBound ? [deploymentRegion] : [],
    needsApproval: needsApproval(step, stepApproval),
  };
}

/** What the policies need to know of a playbook step. */
export type GuardrailStep = Pick<PlaybookStep, 'id' | 'level' | 'approval' | 'target' | 'flag' | 'scope' | 'undo'>;

/** Region facts of the context: any region other than the deployment's is cross-region; none known is unknown. */
function regionContext(
  regions: readonly string[],
  deploymentRegion: string | undefined,
): Pick<GuardrailContext, 'crossRegion' | 'regionKnown' | 'anomalyRegions'> {
  return {
    crossRegion: deploymentRegion !== undefined && regions.some((r) => r !== deploymentRegion),
    regionKnown: regions.length > 0,
    anomalyRegions: [...regions],
  };
}

const APP_CHANGES = new Set<CorrelatedChange['change']>(['release', 'flag', 'experiment']);

/**
 * A release/flag/experiment whose span, widened by 30 min, contains the anomaly's start or `now`.
 * Flags and experiments count too: the correlator treats all three as an application change whose
 * rollback is preferred (seed 004 §D `prefer_release_root_cause`).
 */
export function releaseWithin30m(
  anomaly: Pick<Anomaly, 'tenant' | 'region' | 'start' | 'correlatedChanges'>,
  now: number,
  recentChanges: readonly ChangeRecord[] = [],
): boolean {
  const near = (c: { ts: number; until?: number }, t: number) =>
    t >= c.ts - CORRELATION_WINDOW_MS && t <= (c.until ?? c.ts) + CORRELATION_WINDOW_MS;
  if (anomaly.correlatedChanges.some((c) => APP_CHANGES.has(c.change) && (near(c, anomaly.start) || near(c, now))))
    return true;
  const ref: { tenant: string; start: number; region?: string } = { tenant: anomaly.tenant, start: now };
  if (anomaly.region !== undefined) ref.region = anomaly.region;
  return correlateChanges(ref, recentChanges).appChange !== undefined;
}

/**
 * The request to apply the `level` stage of a plan for `anomaly`, or with `step` one step of it (the
 * resource is then the step's control, with its scope, reversibility and regions).
 */
export function applyRequest(
  anomaly: Pick<Anomaly, 'tenant' | 'region' | 'regions' | 'start' | 'correlatedChanges' | 'softOnly'>,
  level: ActionLevel,
  env: GuardrailEnvironment,
  step?: GuardrailStep,
): GuardrailRequest {
  return {
    principal: env.principal,
    action: 'apply',
    resource: step
      ? {
          tenant: anomaly.tenant,
          target: guardrailTarget(step, anomaly.tenant, env.deploymentRegion, env.stepApproval),
        }
      : { tenant: anomaly.tenant },
    context: {
      level,
      automatic: env.automatic,
      ...regionContext(regionsOf(anomaly), env.deploymentRegion),
      tenantsAffected: Math.max(1, env.tenantsAffected ?? 1),
      platformMinTenants: env.platformMinTenants ?? DEFAULT_PLATFORM_MIN_TENANTS,
      releaseWithin30m: releaseWithin30m(anomaly, env.now, env.recentChanges),
      whitelistedCampaign: anomaly.softOnly || env.whitelisted === true,
      killSwitch: env.killSwitch === true,
      approved: env.approved === true,
    },
  };
}

/**
 * The guardrail decisions a plan needs: one per stage, and (when given) one per step, since a stage
 * may have some steps allowed and others not (a platform-wide step for a one-tenant anomaly).
 * Without `step` every step of an allowed stage counts as allowed (unit tests of the plan's shape).
 */
export interface StageDecisions {
  soft: GuardrailDecision;
  hard: GuardrailDecision;
  step?: (step: PlaybookStep) => GuardrailDecision;
  /** The same step's decision had an operator approved it: a step denied only pending approval is allowed here. */
  stepIfApproved?: (step: PlaybookStep) => GuardrailDecision;
}

/**
 * Evaluate both stages of a plan for `anomaly`, and each step on demand (the evaluator is injected; this stays pure).
 *
 * @example
 * const decisions = decideStages(anomaly, env, bundledGuardrails());
 * decisions.soft.allowed; // and .reasons / .policies naming the Cedar policies that decided
 */
export function decideStages(
  anomaly: Parameters<typeof applyRequest>[0],
  env: GuardrailEnvironment,
  guardrails: Guardrails,
): StageDecisions {
  return {
    soft: guardrails.evaluate(applyRequest(anomaly, 'soft', env)),
    hard: guardrails.evaluate(applyRequest(anomaly, 'hard', env)),
    step: (step) => guardrails.evaluate(applyRequest(anomaly, step.level, env, step)),
    stepIfApproved: (step) => guardrails.evaluate(applyRequest(anomaly, step.level, { ...env, approved: true }, step)),
  };
}
