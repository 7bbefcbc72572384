import { alertMessage, type AlertMessage, type Anomaly } from '../core/anomaly.js';
import type { ActionLevel, AppliedAction } from '../core/mitigation/actions.js';
import { decideStages, applyRequest, type GuardrailEnvironment, type Guardrails } from '../core/mitigation/guardrail-request.js';
import { nextStage, planMitigation, type MitigationPlan, type StageTransition } from '../core/mitigation/plan.js';
import { assessRegression, recoveryCriteria, type SignalSnapshot } from '../core/mitigation/regression.js';
import { planRollback } from '../core/mitigation/rollback.js';
import type { ActionTarget } from '../adapters/action-target.js';
import { episodeKeyOf, type ActionLedger } from '../adapters/action-ledger.js';
import type { ChangeStore } from '../adapters/change-store.js';
import type { MitigationEventBus } from '../adapters/mitigation-events.js';
import type { Notifier } from '../adapters/notifier.js';
import type { WindowStore } from '../adapters/window-store.js';

/** What a mitigation execution starts from (the consumer or the API puts it in the execution input). */
export interface MitigationInput {
  anomaly: Anomaly;
  /** Started by the consumer's trigger rules (true) or by an operator through the API (false). */
  automatic: boolean;
  requestedPlan?: string;
  /** Seed 004 §I: first regression check after 15 min, the last one at 60 min. */
  observationSeconds: number;
  finalCheckSeconds: number;
  /** Staged rollback: one action per interval. */
  rollbackIntervalSeconds: number;
}

/** The execution's data, passed whole from task to task. */
export interface WorkflowState {
  input: MitigationInput;
  plan?: MitigationPlan;
  /** The stage applied last, and the one the next Apply task applies. */
  stage?: ActionLevel;
  nextStage?: ActionLevel;
  applied: AppliedAction[];
  before?: SignalSnapshot;
  checks: number;
  transition?: StageTransition['kind'];
  reason?: string;
  /** Rollback queue, newest first. */
  remaining?: AppliedAction[];
  remainingCount?: number;
  rolledBack: string[];
  outcome?: 'blocked' | 'recovered' | 'handed-off' | 'failed';
  error?: { Error?: string; Cause?: string };
}

export interface MitigationDeps {
  guardrails: Guardrails;
  targetFor: (kind: AppliedAction['step']['target']) => ActionTarget;
  ledger: ActionLedger;
  events: MitigationEventBus;
  notifier: Notifier;
  windows: WindowStore;
  changes: ChangeStore;
  /** Global pause of automatic mitigation (the kill switch). */
  killSwitch: () => Promise<boolean>;
  /** The region label this deployment acts in, in the producers' vocabulary. */
  deploymentRegion?: string;
  now: () => number;
  execution: string;
}

/** What planning needs: a dry run through the API plans with exactly this. */
export type PlanDeps = Pick<MitigationDeps, 'guardrails' | 'changes' | 'killSwitch' | 'deploymentRegion' | 'now' | 'execution'>;

export type MitigationOp = 'plan' | 'apply' | 'check' | 'rollback-one' | 'rollback-all' | 'notify';

async function environment(state: WorkflowState, deps: PlanDeps): Promise<GuardrailEnvironment> {
  const { anomaly, automatic } = state.input;
  const now = deps.now();
  const [killSwitch, whitelisted, recentChanges] = await Promise.all([deps.killSwitch(), deps.changes.whitelisted(anomaly.tenant, now), deps.changes.startedBetween(anomaly.tenant, anomaly.start - 30 * 60_000, now)]);
  const env: GuardrailEnvironment = { now, principal: { type: automatic ? 'Workflow' : 'Operator', id: deps.execution }, automatic, killSwitch, whitelisted, recentChanges };
  if (deps.deploymentRegion !== undefined) env.deploymentRegion = deps.deploymentRegion;
  return env;
}

/** Policy check and plan: the first task of every execution. */
export async function planStep(state: WorkflowState, deps: PlanDeps): Promise<WorkflowState> {
  const { anomaly, requestedPlan } = state.input;
  const env = await environment(state, deps);
  const opts: Parameters<typeof planMitigation>[1] = { guardrails: decideStages(anomaly, env, deps.guardrails), now: env.now };
  if (requestedPlan !== undefined) opts.requestedPlan = requestedPlan;
  const plan = planMitigation(anomaly, opts);
  return { ...state, plan, nextStage: 'soft', before: { ts: anomaly.detectedAt, observed: anomaly.observed, expected: anomaly.expected, band: anomaly.band } };
}

/** Apply every action of the next stage, idempotently; each one is in the ledger and on the bus. */
export async function applyStep(state: WorkflowState, deps: MitigationDeps): Promise<WorkflowState> {
  const plan = requirePlan(state);
  const level = state.nextStage ?? 'soft';
  const stage = plan.stages.find((s) => s.level === level);
  if (!stage) throw new Error(`plan ${plan.id} has no ${level} stage`);
  const applied = [...state.applied];
  const halt = async () => {
    if (!(await deps.ledger.halted(plan.rollbackKey))) return;
    // The operator's rollback may have read the ledger before this task recorded its actions: undo them here too (twice is harmless).
    await rollbackStep({ ...state, applied: applied.slice(state.applied.length) }, deps, false, true);
    throw new Error(`${plan.rollbackKey} was rolled back by an operator; nothing more is applied for this episode`);
  };
  for (const action of stage.actions) {
    await halt();
    const done = await deps.targetFor(action.step.target).apply(action, deps.now());
    applied.push(done);
    await deps.ledger.record({ event: 'applied', at: deps.now(), action: done, execution: deps.execution });
    await deps.events.publish([{ detailType: 'Mitigation Action Applied', detail: actionDetail(done, plan) }]);
  }
  await halt();
  const stageActions = applied.slice(state.applied.length);
  await deps.notifier.publish(stageMessage(state.input.anomaly, plan, level, stageActions), `${plan.id}#${level}`);
  const { nextStage: _next, ...rest } = state;
  return { ...rest, stage: level, applied };
}

/** On-call sees every stage applied, with each action's rollback key (the outcome message covers the rollbacks). */
function stageMessage(anomaly: Anomaly, plan: MitigationPlan, level: ActionLevel, actions: readonly AppliedAction[]): AlertMessage {
  const base = alertMessage(anomaly);
  const detail = `${level} stage of ${plan.playbook.id} applied: ${actions.map((a) => `${a.step.title} (${a.rollbackKey})`).join('; ')}`;
  return {
    subject: `[${anomaly.severity}] ${anomaly.tenant} ${anomaly.signal} mitigation ${level} stage applied`.slice(0, 100),
    body: JSON.stringify({ ...JSON.parse(base.body), rollbackKey: plan.rollbackKey, mitigation: { outcome: `${level}-applied`, detail, plan: plan.id, playbook: plan.playbook.id, rollbackKey: plan.rollbackKey, applied: actions.map((a) => ({ rollbackKey: a.rollbackKey, step: a.step.id, flag: a.step.flag, value: a.step.value, previous: a.previous })) } }),
    attributes: { ...base.attributes, decision: `mitigation-${level}-applied` },
  };
}

/** The regression check after an observation period: recovered → roll back, else escalate or hand off. */
export async function checkStep(state: WorkflowState, deps: MitigationDeps): Promise<WorkflowState> {
  const plan = requirePlan(state);
  const { anomaly } = state.input;
  const before = state.before ?? { ts: anomaly.detectedAt, observed: anomaly.observed, expected: anomaly.expected };
  const stored = await deps.windows.load(anomaly.key);
  const last = stored?.state.buckets.at(-1);
  const after: SignalSnapshot = last ? { ts: last.m * 60_000, observed: last.sum / last.n, expected: anomaly.expected, band: anomaly.band } : before;
  const regression = assessRegression(before, after, recoveryCriteria(anomaly.signal));
  const current = state.stage ?? 'soft';
  const nextLevel = current === 'soft' ? 'hard' : undefined;
  const opts: Parameters<typeof nextStage>[3] = { final: state.checks >= 1 };
  // The plan's decision is as of planning: ask the guardrails again before escalating (kill switch, new release).
  if (nextLevel) opts.decision = deps.guardrails.evaluate(applyRequest(anomaly, nextLevel, await environment(state, deps)));
  const transition = nextStage(plan, current, regression, opts);
  const next: WorkflowState = { ...state, checks: state.checks + 1, transition: transition.kind, reason: transition.reason };
  if (transition.kind === 'escalate') next.nextStage = transition.stage.level;
  if (transition.kind === 'rollback') next.remaining = planRollback(state.applied, { intervalMs: 0 }).steps.map((s) => s.action);
  next.remainingCount = next.remaining?.length ?? 0;
  return next;
}

/**
 * Undo the newest applied action still in place (staged rollback), or all of them (after a failure).
 * After a failure the ledger is the source of truth: a task that failed halfway never returned the
 * actions it had already applied.
 */
export async function rollbackStep(state: WorkflowState, deps: MitigationDeps, all: boolean, onlyGiven = false): Promise<WorkflowState> {
  const candidates = all && state.plan && !onlyGiven ? await stillApplied(state, deps) : state.applied;
  const queue = (!all && !onlyGiven && state.remaining) || planRollback(candidates, { intervalMs: 0 }).steps.map((s) => s.action);
  const now = deps.now();
  const take = all || onlyGiven ? queue : queue.slice(0, 1);
  const rolledBack = [...state.rolledBack];
  for (const action of take) {
    await deps.targetFor(action.step.target).rollback(action, now);
    rolledBack.push(action.rollbackKey);
    await deps.ledger.record({ event: 'rolled-back', at: now, action, execution: deps.execution });
    await deps.events.publish([{ detailType: 'Mitigation Action Rolled Back', detail: actionDetail(action, state.plan) }]);
  }
  const remaining = queue.slice(take.length);
  return { ...state, remaining, remainingCount: remaining.length, rolledBack };
}

async function stillApplied(state: WorkflowState, deps: MitigationDeps): Promise<AppliedAction[]> {
  return outstanding(deps.ledger, state.plan!.rollbackKey, state.applied);
}

/** Actions of an episode the ledger shows applied and not rolled back since. */
async function outstanding(ledger: MitigationDeps['ledger'], episodeKey: string, known: readonly AppliedAction[] = []): Promise<AppliedAction[]> {
  const byKey = new Map(known.map((a) => [a.rollbackKey, a]));
  for (const entry of await ledger.entries(episodeKey)) {
    if (entry.event === 'applied') byKey.set(entry.action.rollbackKey, entry.action);
    else if (entry.event === 'rolled-back') byKey.delete(entry.action.rollbackKey);
  }
  return [...byKey.values()];
}

/**
 * Roll back by key at any time: an episode's key (`rb-<hash>`, everything of the episode) or one
 * action's key. Newest first; what is already rolled back is skipped, so a second call does nothing.
 */
export async function rollbackByKey(key: string, deps: Omit<MitigationDeps, 'execution'> & { execution?: string }): Promise<{ rolledBack: string[] }> {
  const episodeKey = episodeKeyOf(key);
  const actions = (await outstanding(deps.ledger, episodeKey)).filter((a) => key === episodeKey || a.rollbackKey === key);
  const now = deps.now();
  const rolledBack: string[] = [];
  for (const { action } of planRollback(actions, { intervalMs: 0 }).steps) {
    await deps.targetFor(action.step.target).rollback(action, now);
    await deps.ledger.record({ event: 'rolled-back', at: now, action, ...(deps.execution !== undefined && { execution: deps.execution }) });
    await deps.events.publish([{ detailType: 'Mitigation Action Rolled Back', detail: actionDetail(action) }]);
    rolledBack.push(action.rollbackKey);
  }
  return { rolledBack };
}

/** Tell on-call how the execution ended (SNS) and publish the outcome (EventBridge). */
export async function notifyStep(state: WorkflowState, deps: MitigationDeps, outcome: NonNullable<WorkflowState['outcome']>): Promise<WorkflowState> {
  const { anomaly } = state.input;
  const base = alertMessage(anomaly);
  const words: Record<typeof outcome, string> = {
    blocked: `mitigation blocked by policy: ${state.plan?.reasons.join('; ') ?? ''}`,
    recovered: `recovered; ${state.rolledBack.length} action(s) rolled back`,
    'handed-off': `not recovered automatically: ${state.reason ?? ''}; actions stay in place (rollback key ${state.plan?.rollbackKey ?? '-'})`,
    failed: `mitigation failed (${state.error?.Error ?? 'error'}: ${truncate(state.error?.Cause ?? '', 300)}); everything applied was rolled back`,
  };
  const message: AlertMessage = {
    subject: `[${outcome === 'failed' || outcome === 'handed-off' ? 'SEV1' : anomaly.severity}] ${anomaly.tenant} ${anomaly.signal} mitigation ${outcome}`.slice(0, 100),
    body: JSON.stringify({ ...JSON.parse(base.body), mitigation: { outcome, detail: words[outcome], plan: state.plan?.id, playbook: state.plan?.playbook.id, rollbackKey: state.plan?.rollbackKey ?? null, applied: state.applied.map((a) => a.rollbackKey), rolledBack: state.rolledBack } }),
    attributes: { ...base.attributes, decision: `mitigation-${outcome}` },
  };
  await deps.notifier.publish(message, `${state.plan?.id ?? anomaly.id}#${outcome}`);
  await deps.events.publish([{ detailType: 'Mitigation Outcome', detail: { outcome, anomalyKey: anomaly.id, tenant: anomaly.tenant, signal: anomaly.signal, plan: state.plan?.id, rollbackKey: state.plan?.rollbackKey, detail: words[outcome] } }]);
  return { ...state, outcome };
}

function actionDetail(a: AppliedAction, plan?: MitigationPlan): Record<string, unknown> {
  return { rollbackKey: a.rollbackKey, episode: a.episodeId, tenant: a.tenant, region: a.region, step: a.step.id, level: a.step.level, target: a.step.target, flag: a.step.flag, value: a.step.value, previous: a.previous, plan: plan?.id };
}

function requirePlan(state: WorkflowState): MitigationPlan {
  if (!state.plan) throw new Error('the execution has no plan yet (the Plan task must run first)');
  return state.plan;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** The single task Lambda: the state machine passes `{ op, state }`. */
export async function runMitigationOp(event: { op: MitigationOp; state: Partial<WorkflowState> & Pick<WorkflowState, 'input'>; outcome?: WorkflowState['outcome'] }, deps: MitigationDeps): Promise<WorkflowState> {
  const state: WorkflowState = { ...event.state, applied: event.state.applied ?? [], checks: event.state.checks ?? 0, rolledBack: event.state.rolledBack ?? [] };
  switch (event.op) {
    case 'plan':
      return planStep(state, deps);
    case 'apply':
      return applyStep(state, deps);
    case 'check':
      return checkStep(state, deps);
    case 'rollback-one':
      return rollbackStep(state, deps, false);
    case 'rollback-all':
      return rollbackStep(state, deps, true);
    case 'notify':
      if (!event.outcome) throw new Error('notify needs an outcome');
      return notifyStep(state, deps, event.outcome);
    default:
      throw new Error(`unknown mitigation op ${String((event as { op: unknown }).op)}`);
  }
}
