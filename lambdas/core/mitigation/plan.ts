import type { Anomaly } from '../anomaly.js';
import type { AnomalyClass } from '../classifier.js';
import type { ActionLevel, PlannedAction, PlaybookStep, TargetKind } from './actions.js';
import type { GuardrailDecision, StageDecisions } from './guardrail-request.js';
import { controlKey, episodeRollbackKey, peerRollbackKey, planId, rollbackKey } from './keys.js';
import { isBaselineLimit, resolveLimit, type DerivedLimit } from './limits.js';
import { PLAYBOOKS, playbookById, selectPlaybook, type PlaybookSelection } from './playbooks.js';
import type { RegressionAssessment } from './regression.js';
import { MINUTE_MS } from '../time.js';

/** Stages in the order they run: soft first, hard only after soft did not recover the signal. */
export const STAGE_ORDER: readonly ActionLevel[] = ['soft', 'hard'];

export interface PlanStage {
  level: ActionLevel;
  /** In apply order: the steps that will be applied when the stage runs. */
  actions: PlannedAction[];
  /** Steps of this stage that are not applied automatically, and why (the operator takes them). */
  handedOff: HandedOffStep[];
  /** The guardrails allow this stage (as of planning; re-check before escalating). */
  allowed: boolean;
  decision: GuardrailDecision;
}

/**
 * A step the plan does not apply itself: the step's own guardrails deny it (a platform-wide or
 * irreversible step for a one-tenant anomaly, a control outside the anomaly's regions) or its target
 * is not configured (`unconfiguredTargets: 'error'`). It is listed so the operator can take it.
 */
export interface HandedOffStep {
  stepId: string;
  level: ActionLevel;
  title: string;
  /** `controlKey` of the step's control. */
  control: string;
  cause: 'guardrail' | 'target-not-configured';
  reason: string;
  /** The policies that denied it (guardrail), empty otherwise. */
  policies: string[];
  /**
   * The guardrails would allow it with an operator's approval (`step-needs-approval`, a platform-wide or
   * irreversible step on a small incident): the workflow asks for one and waits, instead of only listing it.
   */
  approvable: boolean;
  /** The action as it would be applied. */
  action: PlannedAction;
}

/** The steps of a stage that wait for an operator's approval. */
export function awaitingApproval(stage: Pick<PlanStage, 'handedOff'> | undefined): HandedOffStep[] {
  return stage?.handedOff.filter((h) => h.approvable) ?? [];
}

export interface SkippedStep {
  stepId: string;
  reason: string;
}

/**
 * How far apart two tenants' anomalies may start and still count as one incident (a platform-wide
 * fault shows on every tenant within a few minutes).
 */
export const INCIDENT_WINDOW_MS = 15 * MINUTE_MS;

/**
 * The signals whose anomalies on other tenants make this one part of a wider incident: the
 * anomaly's own and those of its playbook (an origin bottleneck shows as `edge_p95_ms` on one
 * tenant and `origin_p95_ms` on another). An unknown requested playbook counts the own signal only.
 */
export function incidentSignals(anomaly: Pick<Anomaly, 'signal' | 'class'>, requestedPlan?: string): string[] {
  let signals: readonly string[] = [];
  try {
    signals =
      (requestedPlan !== undefined
        ? playbookById(requestedPlan)
        : selectPlaybook(anomaly.class, anomaly.signal).playbook
      ).signals ?? [];
  } catch {
    // planMitigation reports the unknown playbook; the count needs no more than the own signal
  }
  return [...new Set([anomaly.signal, ...signals])].sort();
}

/** What `POST /v1/anomaly/mitigate` starts, and what `dry_run` returns. */
export interface MitigationPlan {
  /** Deterministic per episode and playbook (usable as the execution name). */
  id: string;
  episodeId: string;
  anomalyKey: string;
  tenant: string;
  region?: string;
  signal: string;
  class: AnomalyClass;
  playbook: { id: string; title: string };
  selectedBy: PlaybookSelection;
  createdAt: number;
  /** Rolls back everything applied for the episode; each action's own key starts with it. */
  rollbackKey: string;
  /** Soft, then hard. */
  stages: PlanStage[];
  /** The first stage may be applied. */
  allowed: boolean;
  /** The guardrail reasons of every stage, prefixed by its level. */
  reasons: string[];
  /** Steps left out of the plan, and why (e.g. a rate limit with no baseline to derive it from). */
  skipped: SkippedStep[];
  /** Every stage's handed-off steps, in stage order. */
  handedOff: HandedOffStep[];
  /** How each baseline-relative limit in the plan was computed. */
  limits: DerivedLimit[];
  /** The incident's other tenants this plan mitigates too (their tenant-scoped steps), by their anomaly. */
  peers?: { tenant: string; anomalyKey: string }[];
}

export interface PlanOptions {
  /** The guardrail decision for each stage (see `decideStages`). */
  guardrails: StageDecisions;
  /** A playbook id chosen by the operator (`plan` in the API body) instead of the automatic choice. */
  requestedPlan?: string;
  now: number;
  /**
   * Expected values of rate signals other than the anomaly's own, per signal (from their window
   * state), for steps whose limit derives from another signal's baseline.
   */
  baselines?: Readonly<Record<string, number>>;
  /**
   * Target kinds this deployment cannot act on, with the reason (`unconfiguredTargets: 'error'`):
   * their steps are handed off instead of failing the execution at apply time.
   */
  unavailableTargets?: Partial<Record<TargetKind, string>>;
  /**
   * The incident's other members this execution mitigates too (one execution per incident): each gets the playbook's
   * tenant-scoped steps for its own tenant, decided by the guardrails for its own anomaly; platform-scoped steps are
   * planned once.
   */
  peers?: readonly PeerPlan[];
}

/** Another tenant's anomaly in the same incident and playbook, with the guardrails' decisions for it. */
export interface PeerPlan {
  anomaly: PlannableAnomaly;
  guardrails: StageDecisions;
}

export type PlannableAnomaly = Pick<Anomaly, 'id' | 'key' | 'tenant' | 'region' | 'signal' | 'class' | 'expected'>;

/**
 * Split a stage's planned steps into those applied and those handed off: a target that is not
 * configured, or a step its own guardrail decision denies. A step denied only for what denies the
 * whole stage stays in `actions` (the stage is not allowed anyway, and a later re-check may allow it).
 */
function partition(
  level: ActionLevel,
  planned: readonly PlannedAction[],
  anchorDecision: GuardrailDecision,
  opts: Pick<PlanOptions, 'guardrails' | 'unavailableTargets' | 'peers'>,
): Pick<PlanStage, 'actions' | 'handedOff'> {
  const actions: PlannedAction[] = [];
  const handedOff: HandedOffStep[] = [];
  const peers = new Map((opts.peers ?? []).map((p) => [p.anomaly.tenant, p.guardrails]));
  for (const action of planned) {
    // A peer's action is decided for the peer's own anomaly (its whitelist, release, regions).
    const guardrails = peers.get(action.tenant) ?? opts.guardrails;
    const stageDecision = guardrails === opts.guardrails ? anchorDecision : guardrails[level];
    const base = {
      stepId: action.step.id,
      level,
      title: action.step.title,
      control: controlKey(action.step, action.tenant),
      action,
    };
    const missing = opts.unavailableTargets?.[action.step.target];
    if (missing !== undefined) {
      handedOff.push({
        ...base,
        cause: 'target-not-configured',
        reason: `target ${action.step.target} is not configured: ${missing}`,
        policies: [],
        approvable: false,
      });
      continue;
    }
    if (!stageDecision.allowed && guardrails !== opts.guardrails) {
      handedOff.push({
        ...base,
        cause: 'guardrail',
        reason: `${action.tenant}: ${stageDecision.reasons.join('; ')}`,
        policies: stageDecision.policies,
        approvable: false,
      });
      continue;
    }
    const d = guardrails.step?.(action.step);
    const ownDenial =
      d !== undefined &&
      !d.allowed &&
      (stageDecision.allowed || d.policies.some((p) => !stageDecision.policies.includes(p)));
    if (ownDenial) {
      // A stage the guardrails deny as a whole (kill switch, release) is not for approval either.
      const approvable = stageDecision.allowed && guardrails.stepIfApproved?.(action.step).allowed === true;
      const reason = d.reasons.join('; ');
      handedOff.push({
        ...base,
        cause: 'guardrail',
        reason: approvable ? `waits for an operator's approval: ${reason}` : reason,
        policies: d.policies,
        approvable,
      });
    } else actions.push(action);
  }
  return { actions, handedOff };
}

/**
 * The stage re-decided with fresh guardrail decisions (before escalating: more tenants may show the
 * incident by now, or the kill switch went on). Steps handed off for a missing target stay so.
 */
export function redecideStage(
  plan: MitigationPlan,
  level: ActionLevel,
  guardrails: StageDecisions,
  unavailableTargets?: PlanOptions['unavailableTargets'],
  peers?: PlanOptions['peers'],
): MitigationPlan {
  const stages = plan.stages.map((s) => {
    if (s.level !== level) return s;
    const decision = guardrails[level];
    const planned = [...s.actions, ...s.handedOff.map((h) => h.action)].sort((a, b) => stepOrder(a) - stepOrder(b));
    return {
      ...s,
      ...partition(level, planned, decision, {
        guardrails,
        ...(unavailableTargets && { unavailableTargets }),
        ...(peers && { peers }),
      }),
      allowed: decision.allowed,
      decision,
    };
  });
  return { ...plan, stages, handedOff: stages.flatMap((s) => s.handedOff) };
}

/** Playbook order of a planned action, so a re-decided stage applies in the same order. */
function stepOrder(a: PlannedAction): number {
  for (const p of PLAYBOOKS) {
    const i = p.steps.findIndex((s) => s.id === a.step.id);
    if (i >= 0) return i;
  }
  return Number.MAX_SAFE_INTEGER;
}

/**
 * Plan the mitigation of one anomaly episode. Pure: the guardrail decisions and the time are given.
 * Throws `UnknownPlaybookError` for an unknown `requestedPlan`.
 *
 * @example
 * const env = {
 *   now,
 *   principal: { type: 'Workflow', id: execution },
 *   automatic: true,
 *   killSwitch: false,
 *   whitelisted: false,
 *   recentChanges: [],
 *   tenantsAffected: 1,
 * } as const;
 * const plan = planMitigation(anomaly, { guardrails: decideStages(anomaly, env, guardrails), now });
 * plan.stages[0]?.actions; // the soft stage's actions, each with its rollback key
 */
export function planMitigation(anomaly: PlannableAnomaly, opts: PlanOptions): MitigationPlan {
  const { playbook, selectedBy } =
    opts.requestedPlan !== undefined
      ? { playbook: playbookById(opts.requestedPlan), selectedBy: 'requested' as const }
      : selectPlaybook(anomaly.class, anomaly.signal);
  const skipped: SkippedStep[] = [];
  const limits: DerivedLimit[] = [];
  const stages = STAGE_ORDER.map((level): PlanStage => {
    const planned: PlannedAction[] = [];
    for (const step of playbook.steps.filter((s) => s.level === level)) {
      const p = planStep(step, anomaly, opts.baselines ?? {});
      if ('skip' in p) skipped.push({ stepId: step.id, reason: p.skip });
      else {
        planned.push(p.action);
        if (p.limit) limits.push(p.limit);
      }
      // Tenant-scoped steps once per affected tenant of the incident; platform-scoped ones once.
      if ((step.scope ?? 'tenant') !== 'tenant') continue;
      for (const peer of opts.peers ?? []) {
        const q = planStep(step, peer.anomaly, {});
        if ('skip' in q) skipped.push({ stepId: `${step.id}@${peer.anomaly.tenant}`, reason: q.skip });
        else
          planned.push({
            ...q.action,
            episodeId: anomaly.id,
            rollbackKey: peerRollbackKey(anomaly.id, step.id, peer.anomaly.tenant),
          });
      }
    }
    const decision = opts.guardrails[level];
    return { level, ...partition(level, planned, decision, opts), allowed: decision.allowed, decision };
  });
  const handedOff = stages.flatMap((s) => s.handedOff);
  const plan: MitigationPlan = {
    id: planId(anomaly.id, playbook.id),
    episodeId: anomaly.id,
    anomalyKey: anomaly.key,
    tenant: anomaly.tenant,
    signal: anomaly.signal,
    class: anomaly.class,
    playbook: { id: playbook.id, title: playbook.title },
    selectedBy,
    createdAt: opts.now,
    rollbackKey: episodeRollbackKey(anomaly.id),
    stages,
    allowed: stages[0]!.allowed && (stages[0]!.actions.length > 0 || awaitingApproval(stages[0]).length > 0),
    reasons: [
      ...stages.flatMap((s) => s.decision.reasons.map((r) => `${s.level}: ${r}`)),
      ...handedOff.map((h) =>
        h.approvable
          ? `${h.level}: ${h.stepId} ${h.reason}`
          : `${h.level}: ${h.stepId} handed off to an operator: ${h.reason}`,
      ),
    ],
    skipped,
    handedOff,
    limits,
  };
  if (anomaly.region !== undefined) plan.region = anomaly.region;
  if (opts.peers?.length) plan.peers = opts.peers.map((p) => ({ tenant: p.anomaly.tenant, anomalyKey: p.anomaly.id }));
  return plan;
}

function planStep(
  step: PlaybookStep,
  anomaly: PlannableAnomaly,
  baselines: Readonly<Record<string, number>>,
): { action: PlannedAction; limit?: DerivedLimit } | { skip: string } {
  let limit: DerivedLimit | undefined;
  if (isBaselineLimit(step.value)) {
    const expected = step.value.signal === anomaly.signal ? anomaly.expected : baselines[step.value.signal];
    const resolved = resolveLimit(step.id, step.value, expected);
    if ('skip' in resolved) return resolved;
    limit = resolved;
  }
  const action: PlannedAction = {
    rollbackKey: rollbackKey(anomaly.id, step.id),
    episodeId: anomaly.id,
    tenant: anomaly.tenant,
    step: limit ? { ...step, value: { ...limit.limit } } : { ...step },
  };
  if (anomaly.region !== undefined) action.region = anomaly.region;
  return limit ? { action, limit } : { action };
}

/** What the workflow does after a regression check. */
export type StageTransition =
  /** The signal recovered: undo what was applied, one step per interval (`planRollback`). */
  | { kind: 'rollback'; reason: string }
  /** Improving: keep the actions and check again at the next checkpoint. */
  | { kind: 'observe'; reason: string }
  /** Not recovered: apply the next stage. */
  | { kind: 'escalate'; stage: PlanStage; reason: string }
  /** Not recovered and nothing more may be done automatically: keep the actions, page an operator. */
  | { kind: 'hand-off'; reason: string };

export interface NextStageOptions {
  /** This was the last regression check (seed §I: 15 and 60 min); improving no longer waits. */
  final?: boolean;
  /** A fresh guardrail decision for the next stage (the one on the plan is as of planning). */
  decision?: GuardrailDecision;
}

/** Seed 004 §I: soft before hard, escalate only when not recovered and only where the policy allows. */
export function nextStage(
  plan: MitigationPlan,
  currentStage: ActionLevel,
  regression: RegressionAssessment,
  opts: NextStageOptions = {},
): StageTransition {
  const summary = regression.summary;
  if (regression.outcome === 'recovered') return { kind: 'rollback', reason: `recovered: ${summary}` };
  if (regression.outcome === 'improving' && !opts.final) return { kind: 'observe', reason: `improving: ${summary}` };
  if (regression.outcome === 'improving')
    return { kind: 'hand-off', reason: `still not recovered at the last check, though improving: ${summary}` };
  const index = plan.stages.findIndex((s) => s.level === currentStage);
  const next = index < 0 ? undefined : plan.stages[index + 1];
  if (!next)
    return { kind: 'hand-off', reason: `not recovered after the ${currentStage} stage, the last one: ${summary}` };
  const decision = opts.decision ?? next.decision;
  if (!decision.allowed)
    return {
      kind: 'hand-off',
      reason: `not recovered; the ${next.level} stage is not allowed (${decision.reasons.join('; ')}): ${summary}`,
    };
  if (!next.actions.length && !awaitingApproval(next).length && next.handedOff.length)
    return {
      kind: 'hand-off',
      reason:
        `not recovered; the ${next.level} stage's steps are for an operator (` +
        `${next.handedOff.map((h) => `${h.stepId}: ${h.reason}`).join('; ')}): ${summary}`,
    };
  if (!next.actions.length && !awaitingApproval(next).length)
    return { kind: 'hand-off', reason: `not recovered; the ${next.level} stage has no applicable steps: ${summary}` };
  return {
    kind: 'escalate',
    stage: { ...next, allowed: true, decision },
    reason: `not recovered after the ${currentStage} stage: ${summary}`,
  };
}
