import type { Anomaly } from '../anomaly.js';
import { CORRELATION_WINDOW_MS, correlateChanges, type CorrelatedChange } from '../correlator.js';
import type { ChangeRecord } from '../envelope.js';
import type { ActionLevel, PlannedAction, TargetKind } from './actions.js';
import { controlKey } from './keys.js';

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
  /** The action would change a control outside the anomaly's region. */
  crossRegion: boolean;
  /** A release, flag or experiment change within 30 min (prefer rolling it back). */
  releaseWithin30m: boolean;
  /** The tenant runs a whitelisted campaign: soft steps only. */
  whitelistedCampaign: boolean;
  /** Global pause of automatic mitigation. */
  killSwitch: boolean;
}

export interface GuardrailRequest {
  principal: GuardrailPrincipal;
  action: GuardrailAction;
  /** The tenant, and the control (its `controlKey`) when the request is about one action. */
  resource: { tenant: string; target?: { kind: TargetKind; flag: string } };
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

/** Evaluates requests against the guardrail policies (implemented by the Cedar adapter). */
export interface Guardrails {
  evaluate(request: GuardrailRequest): GuardrailDecision;
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
}

const APP_CHANGES = new Set<CorrelatedChange['change']>(['release', 'flag', 'experiment']);

/**
 * A release/flag/experiment whose span, widened by 30 min, contains the anomaly's start or `now`.
 * Flags and experiments count too: the correlator treats all three as an application change whose
 * rollback is preferred (seed 004 §D `prefer_release_root_cause`).
 */
export function releaseWithin30m(anomaly: Pick<Anomaly, 'tenant' | 'region' | 'start' | 'correlatedChanges'>, now: number, recentChanges: readonly ChangeRecord[] = []): boolean {
  const near = (c: { ts: number; until?: number }, t: number) => t >= c.ts - CORRELATION_WINDOW_MS && t <= (c.until ?? c.ts) + CORRELATION_WINDOW_MS;
  if (anomaly.correlatedChanges.some((c) => APP_CHANGES.has(c.change) && (near(c, anomaly.start) || near(c, now)))) return true;
  const ref: { tenant: string; start: number; region?: string } = { tenant: anomaly.tenant, start: now };
  if (anomaly.region !== undefined) ref.region = anomaly.region;
  return correlateChanges(ref, recentChanges).appChange !== undefined;
}

/** The request to apply the `level` stage of a plan for `anomaly`. */
export function applyRequest(anomaly: Pick<Anomaly, 'tenant' | 'region' | 'start' | 'correlatedChanges' | 'softOnly'>, level: ActionLevel, env: GuardrailEnvironment): GuardrailRequest {
  return {
    principal: env.principal,
    action: 'apply',
    resource: { tenant: anomaly.tenant },
    context: {
      level,
      automatic: env.automatic,
      crossRegion: anomaly.region !== undefined && env.deploymentRegion !== undefined && anomaly.region !== env.deploymentRegion,
      releaseWithin30m: releaseWithin30m(anomaly, env.now, env.recentChanges),
      whitelistedCampaign: anomaly.softOnly || env.whitelisted === true,
      killSwitch: env.killSwitch === true,
    },
  };
}

/**
 * The request to roll back one action (the rollback API, the staged rollback). The policies never
 * block a rollback; asking anyway keeps every change behind one decision point and in the audit.
 */
export function rollbackRequest(action: Pick<PlannedAction, 'tenant' | 'region' | 'step'>, env: GuardrailEnvironment): GuardrailRequest {
  const ref: { tenant: string; start: number; region?: string; correlatedChanges: [] } = { tenant: action.tenant, start: env.now, correlatedChanges: [] };
  if (action.region !== undefined) ref.region = action.region;
  return {
    principal: env.principal,
    action: 'rollback',
    resource: { tenant: action.tenant, target: { kind: action.step.target, flag: controlKey(action.step, action.tenant) } },
    context: {
      level: action.step.level,
      automatic: env.automatic,
      crossRegion: action.region !== undefined && env.deploymentRegion !== undefined && action.region !== env.deploymentRegion,
      releaseWithin30m: releaseWithin30m(ref, env.now, env.recentChanges),
      whitelistedCampaign: env.whitelisted === true,
      killSwitch: env.killSwitch === true,
    },
  };
}

/** The guardrail decisions a plan needs: one per stage. */
export interface StageDecisions {
  soft: GuardrailDecision;
  hard: GuardrailDecision;
}

/** Evaluate both stages of a plan for `anomaly` (the evaluator is injected; this stays pure). */
export function decideStages(anomaly: Parameters<typeof applyRequest>[0], env: GuardrailEnvironment, guardrails: Guardrails): StageDecisions {
  return { soft: guardrails.evaluate(applyRequest(anomaly, 'soft', env)), hard: guardrails.evaluate(applyRequest(anomaly, 'hard', env)) };
}
