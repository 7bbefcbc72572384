import type { Anomaly } from '../anomaly.js';
import type { AnomalyClass } from '../classifier.js';
import type { ActionLevel, PlannedAction, PlaybookStep } from './actions.js';
import type { GuardrailDecision, StageDecisions } from './guardrail-request.js';
import { episodeRollbackKey, planId, rollbackKey } from './keys.js';
import { isBaselineLimit, resolveLimit, type DerivedLimit } from './limits.js';
import { playbookById, selectPlaybook, type PlaybookSelection } from './playbooks.js';
import type { RegressionAssessment } from './regression.js';

/** Stages in the order they run: soft first, hard only after soft did not recover the signal. */
export const STAGE_ORDER: readonly ActionLevel[] = ['soft', 'hard'];

export interface PlanStage {
  level: ActionLevel;
  /** In apply order. */
  actions: PlannedAction[];
  /** The guardrails allow this stage (as of planning; re-check before escalating). */
  allowed: boolean;
  decision: GuardrailDecision;
}

export interface SkippedStep {
  stepId: string;
  reason: string;
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
  /** How each baseline-relative limit in the plan was computed. */
  limits: DerivedLimit[];
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
}

type PlannableAnomaly = Pick<Anomaly, 'id' | 'key' | 'tenant' | 'region' | 'signal' | 'class' | 'expected'>;

/**
 * Plan the mitigation of one anomaly episode. Pure: the guardrail decisions and the time are given.
 * Throws `UnknownPlaybookError` for an unknown `requestedPlan`.
 */
export function planMitigation(anomaly: PlannableAnomaly, opts: PlanOptions): MitigationPlan {
  const { playbook, selectedBy } = opts.requestedPlan !== undefined ? { playbook: playbookById(opts.requestedPlan), selectedBy: 'requested' as const } : selectPlaybook(anomaly.class, anomaly.signal);
  const skipped: SkippedStep[] = [];
  const limits: DerivedLimit[] = [];
  const stages = STAGE_ORDER.map((level): PlanStage => {
    const actions: PlannedAction[] = [];
    for (const step of playbook.steps.filter((s) => s.level === level)) {
      const planned = planStep(step, anomaly, opts.baselines ?? {});
      if ('skip' in planned) skipped.push({ stepId: step.id, reason: planned.skip });
      else {
        actions.push(planned.action);
        if (planned.limit) limits.push(planned.limit);
      }
    }
    const decision = opts.guardrails[level];
    return { level, actions, allowed: decision.allowed, decision };
  });
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
    allowed: stages[0]!.allowed && stages[0]!.actions.length > 0,
    reasons: stages.flatMap((s) => s.decision.reasons.map((r) => `${s.level}: ${r}`)),
    skipped,
    limits,
  };
  if (anomaly.region !== undefined) plan.region = anomaly.region;
  return plan;
}

function planStep(step: PlaybookStep, anomaly: PlannableAnomaly, baselines: Readonly<Record<string, number>>): { action: PlannedAction; limit?: DerivedLimit } | { skip: string } {
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
export function nextStage(plan: MitigationPlan, currentStage: ActionLevel, regression: RegressionAssessment, opts: NextStageOptions = {}): StageTransition {
  const summary = regression.summary;
  if (regression.outcome === 'recovered') return { kind: 'rollback', reason: `recovered: ${summary}` };
  if (regression.outcome === 'improving' && !opts.final) return { kind: 'observe', reason: `improving: ${summary}` };
  if (regression.outcome === 'improving') return { kind: 'hand-off', reason: `still not recovered at the last check, though improving: ${summary}` };
  const index = plan.stages.findIndex((s) => s.level === currentStage);
  const next = index < 0 ? undefined : plan.stages[index + 1];
  if (!next) return { kind: 'hand-off', reason: `not recovered after the ${currentStage} stage, the last one: ${summary}` };
  if (!next.actions.length) return { kind: 'hand-off', reason: `not recovered; the ${next.level} stage has no applicable steps: ${summary}` };
  const decision = opts.decision ?? next.decision;
  if (!decision.allowed) return { kind: 'hand-off', reason: `not recovered; the ${next.level} stage is not allowed (${decision.reasons.join('; ')}): ${summary}` };
  return { kind: 'escalate', stage: { ...next, allowed: true, decision }, reason: `not recovered after the ${currentStage} stage: ${summary}` };
}
