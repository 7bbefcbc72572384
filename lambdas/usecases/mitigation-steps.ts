import { alertMessage, type AlertMessage, type Anomaly } from '../core/anomaly.js';
import type { ActionLevel, AppliedAction, PlannedAction } from '../core/mitigation/actions.js';
import {
  decideStages,
  type GuardrailEnvironment,
  type StepApprovalConfig,
} from '../core/mitigation/guardrail-request.js';
import { approvalKey, approvalSteps, type ApprovalRequest } from '../core/mitigation/approval.js';
import {
  awaitingApproval,
  incidentSignals,
  INCIDENT_WINDOW_MS,
  nextStage,
  planMitigation,
  redecideStage,
  type MitigationPlan,
  type PeerPlan,
  type PlanStage,
  type StageTransition,
} from '../core/mitigation/plan.js';
import { assessRegression, recoveryCriteria, type SignalSnapshot } from '../core/mitigation/regression.js';
import { planRollback } from '../core/mitigation/rollback.js';
import { selectPlaybook } from '../core/mitigation/playbooks.js';
import { controlKey } from '../core/mitigation/keys.js';
import type {
  ActionLedger,
  ActionTarget,
  AnomalyReader,
  ApprovalStore,
  ChangeStore,
  Guardrails,
  IncidentReader,
  KillSwitch,
  MitigationEventBus,
  Notifier,
  WindowStore,
} from '../core/ports/index.js';
import { episodeKeyOf, outstandingActions } from '../core/mitigation/journal.js';
import { MINUTE_MS } from '../core/time.js';

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
  /** How long a step that waits for an operator's approval waits; then nothing is applied and the run hands off. */
  approvalTimeoutSeconds: number;
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
  /** Steps of the stage just applied that wait for an operator's approval (the state machine asks when > 0). */
  awaitingApprovalCount?: number;
  /** The operator's answer as the approve route sent it with the task token (the store is what counts). */
  approval?: { decision?: string; by?: string };
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
  killSwitch: KillSwitch;
  /** The region label this deployment acts in, in the producers' vocabulary. */
  deploymentRegion?: string;
  /**
   * The stored anomalies, to count the tenants an incident spans (platform-wide and irreversible
   * steps need `platformMinTenants`). Absent: the anomaly's own tenant only (such steps are handed off).
   */
  anomalies?: IncidentReader;
  /** `mitigation.platformMinTenants` (default 3). */
  platformMinTenants?: number;
  /**
   * The stored anomalies, to find the incident's other members: their tenant-scoped steps are planned in this
   * execution (one execution per incident). Absent: this anomaly's tenant only.
   */
  incidentAnomalies?: Pick<AnomalyReader, 'between'>;
  /** Target kinds this deployment hands off instead of applying (`unconfiguredTargets: 'error'`), with why. */
  unavailableTargets?: Partial<Record<AppliedAction['step']['target'], string>>;
  /** `mitigation.stepApproval`: which steps wait for an operator, over the playbooks' own setting. */
  stepApproval?: StepApprovalConfig;
  /** Approval requests, with the task token each execution waits on. */
  approvals: ApprovalStore;
  now: () => number;
  execution: string;
}

/** What planning needs: a dry run through the API plans with exactly this. */
export type PlanDeps = Pick<
  MitigationDeps,
  | 'guardrails'
  | 'changes'
  | 'killSwitch'
  | 'deploymentRegion'
  | 'anomalies'
  | 'incidentAnomalies'
  | 'platformMinTenants'
  | 'unavailableTargets'
  | 'stepApproval'
  | 'now'
  | 'execution'
>;

export type MitigationOp =
  | 'plan'
  | 'apply'
  | 'request-approval'
  | 'apply-approved'
  | 'approval-expired'
  | 'check'
  | 'rollback-one'
  | 'rollback-all'
  | 'notify';

async function environment(state: WorkflowState, deps: PlanDeps): Promise<GuardrailEnvironment> {
  const { anomaly, automatic } = state.input;
  const now = deps.now();
  const [killSwitch, whitelisted, recentChanges] = await Promise.all([
    deps.killSwitch(),
    deps.changes.whitelisted(anomaly.tenant, now),
    deps.changes.startedBetween(anomaly.tenant, anomaly.start - 30 * MINUTE_MS, now),
  ]);
  const env: GuardrailEnvironment = {
    now,
    principal: { type: automatic ? 'Workflow' : 'Operator', id: deps.execution },
    automatic,
    killSwitch,
    whitelisted,
    recentChanges,
    tenantsAffected: await tenantsAffected(state, deps, now),
  };
  if (deps.deploymentRegion !== undefined) env.deploymentRegion = deps.deploymentRegion;
  if (deps.platformMinTenants !== undefined) env.platformMinTenants = deps.platformMinTenants;
  if (deps.stepApproval !== undefined) env.stepApproval = deps.stepApproval;
  return env;
}

/**
 * How many tenants the incident spans: distinct tenants with a stored anomaly on the playbook's
 * signals that started within INCIDENT_WINDOW_MS of this one (and not after `now`), this tenant
 * included. Read from the anomaly store, which only the consumer writes: neither the execution
 * input nor a producer can claim a wider incident than the anomalies show.
 */
async function tenantsAffected(state: WorkflowState, deps: PlanDeps, now: number): Promise<number> {
  const { anomaly, requestedPlan } = state.input;
  if (!deps.anomalies) return 1;
  const tenants = await deps.anomalies.tenantsWithAnomaly(
    incidentSignals(anomaly, requestedPlan),
    anomaly.start - INCIDENT_WINDOW_MS,
    Math.min(now, anomaly.start + INCIDENT_WINDOW_MS),
  );
  return new Set([...tenants, anomaly.tenant]).size;
}

/**
 * The incident's other members this execution mitigates (one execution per incident and playbook): stored anomalies
 * of the same incident, other tenants, decided `mitigate`, answered by the same playbook; the earliest per tenant.
 * Each is decided by the guardrails for its own tenant (whitelist, recent changes). An operator-started plan for one
 * episode has none. `only`: the members planned before (a re-decision keeps the plan's actions).
 */
async function peerPlans(
  state: WorkflowState,
  deps: PlanDeps,
  env: GuardrailEnvironment,
  only?: readonly string[],
): Promise<PeerPlan[]> {
  const { anomaly, requestedPlan, automatic } = state.input;
  if (!deps.incidentAnomalies || anomaly.incident === undefined || !automatic || requestedPlan !== undefined) return [];
  if (only && !only.length) return [];
  const playbook = selectPlaybook(anomaly.class, anomaly.signal).playbook.id;
  const stored = await deps.incidentAnomalies.between(anomaly.start - INCIDENT_LOOKBACK_MS, env.now);
  const byTenant = new Map<string, Anomaly>();
  for (const a of stored)
    if (
      a.incident === anomaly.incident &&
      a.tenant !== anomaly.tenant &&
      a.decision === 'mitigate' &&
      selectPlaybook(a.class, a.signal).playbook.id === playbook &&
      (!only || only.includes(a.id)) &&
      !byTenant.has(a.tenant)
    )
      byTenant.set(a.tenant, a);
  return Promise.all(
    [...byTenant.values()].map(async (peer) => {
      const [whitelisted, recentChanges] = await Promise.all([
        deps.changes.whitelisted(peer.tenant, env.now),
        deps.changes.startedBetween(peer.tenant, peer.start - 30 * MINUTE_MS, env.now),
      ]);
      return { anomaly: peer, guardrails: decideStages(peer, { ...env, whitelisted, recentChanges }, deps.guardrails) };
    }),
  );
}

/** How far back an incident's members may have started (an incident grows while members keep joining). */
const INCIDENT_LOOKBACK_MS = 60 * MINUTE_MS;

/** Policy check and plan: the first task of every execution. */
export async function planStep(state: WorkflowState, deps: PlanDeps): Promise<WorkflowState> {
  const { anomaly, requestedPlan } = state.input;
  const env = await environment(state, deps);
  const opts: Parameters<typeof planMitigation>[1] = {
    guardrails: decideStages(anomaly, env, deps.guardrails),
    now: env.now,
  };
  if (requestedPlan !== undefined) opts.requestedPlan = requestedPlan;
  if (deps.unavailableTargets) opts.unavailableTargets = deps.unavailableTargets;
  const peers = await peerPlans(state, deps, env);
  if (peers.length) opts.peers = peers;
  const plan = planMitigation(anomaly, opts);
  return {
    ...state,
    plan,
    nextStage: 'soft',
    before: { ts: anomaly.detectedAt, observed: anomaly.observed, expected: anomaly.expected, band: anomaly.band },
  };
}

/**
 * The kill switch was turned on while an automatic execution was applying: nothing more is applied,
 * what is applied stays (runbook: pausing does not undo), and the workflow hands off to on-call.
 * The state machine catches it by this name.
 */
export class MitigationPaused extends Error {
  override readonly name = 'MitigationPaused';
}

/** Apply every action of the next stage, idempotently; each one is in the ledger and on the bus. */
export async function applyStep(state: WorkflowState, deps: MitigationDeps): Promise<WorkflowState> {
  const plan = requirePlan(state);
  const level = state.nextStage ?? 'soft';
  const stage = plan.stages.find((s) => s.level === level);
  if (!stage) throw new Error(`plan ${plan.id} has no ${level} stage`);
  const applied = await applyActions(state, deps, level, stage.actions);
  const waiting = awaitingApproval(stage);
  if (applied.length > state.applied.length || !waiting.length)
    await deps.notifier.publish(
      stageMessage(state.input.anomaly, plan, level, applied.slice(state.applied.length)),
      `${plan.id}#${level}`,
    );
  const { nextStage: _next, ...rest } = state;
  return { ...rest, stage: level, applied, awaitingApprovalCount: waiting.length };
}

/**
 * Apply `actions` in order: the halt marker and the kill switch are read before each one, an `intent` is in the
 * ledger before the target is called and `applied` after it. Returns the execution's applied list with them.
 */
async function applyActions(
  state: WorkflowState,
  deps: MitigationDeps,
  level: ActionLevel,
  actions: readonly PlannedAction[],
): Promise<AppliedAction[]> {
  const plan = requirePlan(state);
  const applied = [...state.applied];
  const halt = async () => {
    if (!(await deps.ledger.halted(plan.rollbackKey))) return;
    // The operator's rollback may have read the ledger before this task recorded its actions: undo them here too (twice
    // is harmless).
    await rollbackStep({ ...state, applied: applied.slice(state.applied.length) }, deps, false, true);
    throw new Error(`${plan.rollbackKey} was rolled back by an operator; nothing more is applied for this episode`);
  };
  for (const action of actions) {
    await halt();
    // The plan's kill-switch decision is as old as the plan: read it again before every change (it pauses automatic
    // apply only).
    if (state.input.automatic && (await deps.killSwitch())) {
      const done = applied.length - state.applied.length;
      throw new MitigationPaused(
        `the kill switch (mitigation.paused) was turned on during the ${level} stage: ${done} of its ` +
          `${actions.length} action(s) applied, nothing more is; what is applied stays (roll back with ` +
          `${plan.rollbackKey})`,
      );
    }
    // Write-ahead: a crash, timeout or throttled put after the target call still leaves a record that rollbacks undo.
    const intentAt = deps.now();
    await deps.ledger.record({
      event: 'intent',
      at: intentAt,
      action: { ...action, previous: null, appliedAt: intentAt },
      execution: deps.execution,
    });
    const done = await deps.targetFor(action.step.target).apply(action, deps.now());
    applied.push(done);
    await deps.ledger.record({ event: 'applied', at: deps.now(), action: done, execution: deps.execution });
    await deps.events.publish([{ detailType: 'Mitigation Action Applied', detail: actionDetail(done, plan) }]);
  }
  await halt();
  return applied;
}

/**
 * The stage's steps that wait for a person: store the request with the task token the execution now waits on, put
 * it in the ledger, and page with what would be done, its rollback key and how to answer.
 */
export async function requestApprovalStep(
  state: WorkflowState,
  deps: MitigationDeps,
  token: string,
): Promise<WorkflowState> {
  const plan = requirePlan(state);
  const level = state.stage ?? 'soft';
  const stage = requireStage(plan, level);
  const { anomaly } = state.input;
  const now = deps.now();
  const request: ApprovalRequest = {
    key: approvalKey(plan.rollbackKey, level),
    rollbackKey: plan.rollbackKey,
    stage: level,
    anomalyKey: anomaly.id,
    tenant: anomaly.tenant,
    signal: anomaly.signal,
    ...(anomaly.incident !== undefined && { incident: anomaly.incident }),
    plan: plan.id,
    playbook: plan.playbook.id,
    steps: approvalSteps(stage.handedOff),
    token,
    execution: deps.execution,
    requestedAt: now,
    answerBy: now + state.input.approvalTimeoutSeconds * 1000,
    status: 'pending',
  };
  await deps.approvals.request(request);
  await recordApproval(deps, request, 'approval-requested', now);
  await deps.notifier.publish(approvalMessage(anomaly, plan, request), `${request.key}#requested`);
  return state;
}

/**
 * After the operator answered (the approve route resumed the execution): the answer is read from the approval store,
 * never from the task output. Approved steps are decided again by the guardrails with the approval (the kill switch,
 * a halt or a region still stop them) and applied; denied, nothing is.
 */
export async function applyApprovedStep(state: WorkflowState, deps: MitigationDeps): Promise<WorkflowState> {
  const plan = requirePlan(state);
  const level = state.stage ?? 'soft';
  const request = await deps.approvals.get(approvalKey(plan.rollbackKey, level));
  if (request?.status !== 'approved') {
    const status = request?.status ?? 'pending';
    if (request && status !== 'denied') await deps.approvals.decide(request.key, expiry(deps));
    return afterApproval(state, deps, status === 'denied' ? 'denied' : 'expired', request);
  }
  const now = deps.now();
  await recordApproval(deps, request, 'approved', request.decidedAt ?? now);
  const env = { ...(await environment(state, deps)), approved: true };
  // Each step decided for its own tenant's anomaly: the incident's other members by theirs.
  const anchor = decideStages(state.input.anomaly, env, deps.guardrails);
  const peers = await peerPlans(state, deps, env, plan.peers?.map((p) => p.anomalyKey) ?? []);
  const decisionsFor = (tenant: string) => peers.find((p) => p.anomaly.tenant === tenant)?.guardrails ?? anchor;
  const allowed = request.steps.filter((s) => decisionsFor(s.action.tenant).step?.(s.action.step).allowed !== false);
  const refused = request.steps.length - allowed.length;
  const applied = await applyActions(
    state,
    deps,
    level,
    allowed.map((s) => s.action),
  );
  const done = applied.slice(state.applied.length);
  if (done.length)
    await deps.notifier.publish(
      stageMessage(state.input.anomaly, plan, level, done, request.decidedBy),
      `${plan.id}#${level}#approved`,
    );
  const next = { ...state, applied, awaitingApprovalCount: 0 };
  if (applied.length)
    return {
      ...next,
      transition: 'observe',
      reason:
        `${done.length} approved step(s) applied (approved by ${request.decidedBy})` +
        (refused ? `; ${refused} refused by the guardrails since` : ''),
    };
  return {
    ...next,
    transition: 'hand-off',
    reason: `approved by ${request.decidedBy}, but the guardrails refuse the step(s) now: nothing applied`,
  };
}

/** No answer within `approvalTimeoutSeconds` (the task timed out): nothing is applied; the request is closed. */
export async function approvalExpiredStep(state: WorkflowState, deps: MitigationDeps): Promise<WorkflowState> {
  const plan = requirePlan(state);
  const key = approvalKey(plan.rollbackKey, state.stage ?? 'soft');
  await deps.approvals.decide(key, expiry(deps));
  const { error: _timeout, ...rest } = state;
  return afterApproval(rest, deps, 'expired', await deps.approvals.get(key));
}

function expiry(deps: Pick<MitigationDeps, 'now'>) {
  return { status: 'expired' as const, by: 'approval timeout', at: deps.now() };
}

/** Denied or unanswered: ledger entries for the steps, and on with what is applied (observe) or hand off. */
async function afterApproval(
  state: WorkflowState,
  deps: MitigationDeps,
  outcome: 'denied' | 'expired',
  request: ApprovalRequest | undefined,
): Promise<WorkflowState> {
  if (request)
    await recordApproval(
      deps,
      outcome === 'expired' ? { ...request, decidedBy: 'approval timeout' } : request,
      outcome === 'denied' ? 'denied' : 'approval-expired',
      request.decidedAt ?? deps.now(),
    );
  const words =
    outcome === 'denied'
      ? `the operator ${request?.decidedBy ?? ''} denied ${request?.key ?? 'the approval'}` +
        `${request?.reason ? ` (${request.reason})` : ''}: nothing of it applied`
      : `no answer to ${request?.key ?? 'the approval request'} in time: nothing of it applied`;
  const next = { ...state, awaitingApprovalCount: 0, reason: words };
  return { ...next, transition: state.applied.length ? 'observe' : 'hand-off' };
}

async function recordApproval(
  deps: Pick<MitigationDeps, 'ledger' | 'execution'>,
  request: ApprovalRequest,
  event: 'approval-requested' | 'approved' | 'denied' | 'approval-expired',
  at: number,
): Promise<void> {
  for (const step of request.steps)
    await deps.ledger.record({
      event,
      at,
      action: { ...step.action, previous: null, appliedAt: at },
      execution: deps.execution,
      ...(event !== 'approval-requested' && request.decidedBy !== undefined && { by: request.decidedBy }),
      ...(event === 'approval-requested' ? { note: step.reason } : request.reason ? { note: request.reason } : {}),
    });
}

/** The page that asks for an approval: what would be done, each step's rollback key, how to answer, until when. */
function approvalMessage(anomaly: Anomaly, plan: MitigationPlan, request: ApprovalRequest): AlertMessage {
  const base = alertMessage(anomaly);
  const steps = request.steps.map((s) => `${s.action.step.title} (${s.action.rollbackKey}; ${s.reason})`);
  return {
    subject:
      `[${anomaly.severity}] ${anomaly.tenant} ${anomaly.signal}: approval needed for ${steps.length} step(s)`.slice(
        0,
        100,
      ),
    body: JSON.stringify({
      ...JSON.parse(base.body),
      rollbackKey: plan.rollbackKey,
      approval: {
        key: request.key,
        stage: request.stage,
        playbook: plan.playbook.id,
        steps: request.steps.map((s) => ({
          step: s.action.step.id,
          title: s.action.step.title,
          control: controlKey(s.action.step, s.action.tenant),
          tenant: s.action.tenant,
          value: s.action.step.value,
          rollbackKey: s.action.rollbackKey,
          reason: s.reason,
        })),
        detail: `waiting for an operator: ${steps.join('; ')}`,
        answerBy: new Date(request.answerBy).toISOString(),
        approve:
          `POST /v1/anomaly/approve {"key":"${request.key}","decision":"approve","reason":"..."} ` +
          `or: npm run cli -- approve ${request.key}`,
        deny: `the same with "decision":"deny", or: npm run cli -- approve ${request.key} --deny`,
      },
    }),
    attributes: { ...base.attributes, decision: 'approval-requested' },
  };
}

/** On-call sees every stage applied, with each action's rollback key (the outcome message covers the rollbacks). */
function stageMessage(
  anomaly: Anomaly,
  plan: MitigationPlan,
  level: ActionLevel,
  actions: readonly AppliedAction[],
  approvedBy?: string,
): AlertMessage {
  const base = alertMessage(anomaly);
  // Name the control that acted (a flag the service must read is not a throttled usage plan), and what was left to an
  // operator (steps waiting for an approval have their own page).
  const handedOff = (plan.stages.find((s) => s.level === level)?.handedOff ?? []).filter((h) => !h.approvable);
  const applied = actions.map(
    (a) => `${a.step.title} — ${a.actedVia?.description ?? a.step.target} (${a.rollbackKey})`,
  );
  const left = handedOff.map((h) => `${h.title} (${h.reason})`);
  const detail =
    `${level} stage of ${plan.playbook.id} applied${approvedBy ? ` (approved by ${approvedBy})` : ''}: ` +
    `${applied.join('; ')}` +
    (left.length ? `; handed off to an operator: ${left.join('; ')}` : '');
  return {
    subject: `[${anomaly.severity}] ${anomaly.tenant} ${anomaly.signal} mitigation ${level} stage applied`.slice(
      0,
      100,
    ),
    body: JSON.stringify({
      ...JSON.parse(base.body),
      rollbackKey: plan.rollbackKey,
      mitigation: {
        outcome: `${level}-applied`,
        detail,
        plan: plan.id,
        playbook: plan.playbook.id,
        rollbackKey: plan.rollbackKey,
        applied: actions.map((a) => ({
          rollbackKey: a.rollbackKey,
          step: a.step.id,
          flag: a.step.flag,
          value: a.step.value,
          previous: a.previous,
          actedVia: a.actedVia ?? null,
        })),
        handedOff: handedOffDetail(handedOff),
      },
    }),
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
  const after: SignalSnapshot = last
    ? { ts: last.m * MINUTE_MS, observed: last.sum / last.n, expected: anomaly.expected, band: anomaly.band }
    : before;
  const regression = assessRegression(before, after, recoveryCriteria(anomaly.signal));
  const current = state.stage ?? 'soft';
  const nextLevel = current === 'soft' ? 'hard' : undefined;
  const opts: Parameters<typeof nextStage>[3] = { final: state.checks >= 1 };
  // The plan's decisions are as of planning: ask the guardrails again before escalating (kill switch,
  // new release, more tenants in the incident), for the stage and for each of its steps.
  let checked = plan;
  if (nextLevel) {
    const env = await environment(state, deps);
    const decisions = decideStages(anomaly, env, deps.guardrails);
    const peers = await peerPlans(
      state,
      deps,
      env,
      plan.peers?.map((p) => p.anomalyKey),
    );
    checked = redecideStage(plan, nextLevel, decisions, deps.unavailableTargets, peers);
    opts.decision = decisions[nextLevel];
  }
  const transition = nextStage(checked, current, regression, opts);
  const next: WorkflowState = {
    ...state,
    plan: checked,
    checks: state.checks + 1,
    transition: transition.kind,
    reason: transition.reason,
  };
  if (transition.kind === 'escalate') next.nextStage = transition.stage.level;
  if (transition.kind === 'rollback')
    next.remaining = planRollback(state.applied, { intervalMs: 0 }).steps.map((s) => s.action);
  next.remainingCount = next.remaining?.length ?? 0;
  return next;
}

/**
 * Undo the newest applied action still in place (staged rollback), or all of them (after a failure).
 * After a failure the ledger is the source of truth: a task that failed halfway never returned the
 * actions it had already applied, and an action whose `applied` entry never got written (timeout,
 * throttled put, failed confirmation) is still there as an `intent`.
 */
export async function rollbackStep(
  state: WorkflowState,
  deps: MitigationDeps,
  all: boolean,
  onlyGiven = false,
): Promise<WorkflowState> {
  const fromLedger = all && state.plan && !onlyGiven ? await stillApplied(state, deps) : undefined;
  const candidates = fromLedger?.actions ?? state.applied;
  const queue =
    (!all && !onlyGiven && state.remaining) || planRollback(candidates, { intervalMs: 0 }).steps.map((s) => s.action);
  const now = deps.now();
  const take = all || onlyGiven ? queue : queue.slice(0, 1);
  const rolledBack = [...state.rolledBack];
  const confirmed = fromLedger?.confirmed ?? new Set(state.applied.map((a) => a.rollbackKey));
  for (const action of take) {
    await deps.targetFor(action.step.target).rollback(action, now);
    rolledBack.push(action.rollbackKey);
    await deps.ledger.record({
      event: 'rolled-back',
      at: now,
      action,
      execution: deps.execution,
      ...(!confirmed.has(action.rollbackKey) && { note: INTENT_ONLY_NOTE }),
    });
    await deps.events.publish([
      { detailType: 'Mitigation Action Rolled Back', detail: actionDetail(action, state.plan) },
    ]);
  }
  const remaining = queue.slice(take.length);
  return { ...state, remaining, remainingCount: remaining.length, rolledBack };
}

/** Said on the rollback of an action known only by its intent: whether its apply landed is unknown. */
const INTENT_ONLY_NOTE =
  'rolled back from its intent or ledger entry (the apply may not have landed; the target undoes only a value it set)';

async function stillApplied(state: WorkflowState, deps: MitigationDeps) {
  return outstanding(deps.ledger, state.plan!.rollbackKey, state.applied);
}

/**
 * Actions of an episode the journal shows started or applied and not rolled back since, and which
 * of them an `applied` entry (or the execution's own list) confirms.
 */
async function outstanding(
  ledger: MitigationDeps['ledger'],
  episodeKey: string,
  known: readonly AppliedAction[] = [],
): Promise<{ actions: AppliedAction[]; confirmed: Set<string> }> {
  const journal = await ledger.journal(episodeKey);
  const confirmed = new Set([
    ...known.map((a) => a.rollbackKey),
    ...journal.filter((e) => e.event === 'applied').map((e) => e.action.rollbackKey),
  ]);
  return { actions: outstandingActions(journal, known), confirmed };
}

/**
 * Roll back by key at any time: an episode's key (`rb-<hash>`, everything of the episode) or one
 * action's key. Newest first; what is already rolled back is skipped, so a second call does nothing.
 * Actions known only by their intent are rolled back too (harmless if their apply never landed).
 */
export async function rollbackByKey(
  key: string,
  deps: Omit<MitigationDeps, 'execution'> & { execution?: string },
): Promise<{ rolledBack: string[] }> {
  const episodeKey = episodeKeyOf(key);
  const { actions: all, confirmed } = await outstanding(deps.ledger, episodeKey);
  const actions = all.filter((a) => key === episodeKey || a.rollbackKey === key);
  const now = deps.now();
  const rolledBack: string[] = [];
  for (const { action } of planRollback(actions, { intervalMs: 0 }).steps) {
    await deps.targetFor(action.step.target).rollback(action, now);
    await deps.ledger.record({
      event: 'rolled-back',
      at: now,
      action,
      ...(deps.execution !== undefined && { execution: deps.execution }),
      ...(!confirmed.has(action.rollbackKey) && { note: INTENT_ONLY_NOTE }),
    });
    await deps.events.publish([{ detailType: 'Mitigation Action Rolled Back', detail: actionDetail(action) }]);
    rolledBack.push(action.rollbackKey);
  }
  return { rolledBack };
}

/** Tell on-call how the execution ended (SNS) and publish the outcome (EventBridge). */
export async function notifyStep(
  state: WorkflowState,
  deps: MitigationDeps,
  outcome: NonNullable<WorkflowState['outcome']>,
): Promise<WorkflowState> {
  // Paused by the kill switch in Apply (caught by name): the state is Apply's input, so the ledger says what the stage
  // applied.
  if (state.error?.Error === 'MitigationPaused' && state.plan) {
    const inPlace = (await outstanding(deps.ledger, state.plan.rollbackKey, state.applied)).actions;
    state = { ...state, applied: inPlace, reason: errorMessage(state.error.Cause) };
  }
  const { anomaly } = state.input;
  const base = alertMessage(anomaly);
  const words: Record<typeof outcome, string> = {
    blocked: blockedWords(state.plan),
    recovered: `recovered; ${state.rolledBack.length} action(s) rolled back`,
    'handed-off':
      `${state.error?.Error === 'MitigationPaused' ? 'automatic mitigation paused' : 'not recovered automatically'}` +
      `: ${state.reason ?? ''}; ` +
      (state.applied.length
        ? `actions stay in place (rollback key ${state.plan?.rollbackKey ?? '-'})`
        : 'nothing was applied'),
    failed:
      `mitigation failed (${state.error?.Error ?? 'error'}: ${truncate(state.error?.Cause ?? '', 300)}); ` +
      `everything applied was rolled back`,
  };
  const message: AlertMessage = {
    subject: (
      `[${outcome === 'failed' || outcome === 'handed-off' ? 'SEV1' : anomaly.severity}] ${anomaly.tenant} ` +
      `${anomaly.signal} mitigation ${outcome}`
    ).slice(0, 100),
    body: JSON.stringify({
      ...JSON.parse(base.body),
      mitigation: {
        outcome,
        detail: words[outcome],
        plan: state.plan?.id,
        playbook: state.plan?.playbook.id,
        rollbackKey: state.plan?.rollbackKey ?? null,
        applied: state.applied.map((a) => a.rollbackKey),
        actedVia: Object.fromEntries(state.applied.map((a) => [a.rollbackKey, a.actedVia?.description ?? null])),
        handedOff: handedOffDetail(state.plan?.handedOff ?? []),
        rolledBack: state.rolledBack,
      },
    }),
    attributes: { ...base.attributes, decision: `mitigation-${outcome}` },
  };
  await deps.notifier.publish(message, `${state.plan?.id ?? anomaly.id}#${outcome}`);
  await deps.events.publish([
    {
      detailType: 'Mitigation Outcome',
      detail: {
        outcome,
        anomalyKey: anomaly.id,
        tenant: anomaly.tenant,
        signal: anomaly.signal,
        plan: state.plan?.id,
        rollbackKey: state.plan?.rollbackKey,
        detail: words[outcome],
      },
    },
  ]);
  return { ...state, outcome };
}

function actionDetail(a: AppliedAction, plan?: MitigationPlan): Record<string, unknown> {
  return {
    rollbackKey: a.rollbackKey,
    episode: a.episodeId,
    tenant: a.tenant,
    region: a.region,
    step: a.step.id,
    level: a.step.level,
    target: a.step.target,
    actedVia: a.actedVia,
    flag: a.step.flag,
    value: a.step.value,
    previous: a.previous,
    plan: plan?.id,
  };
}

/** Blocked: the stage's denial, or (stage allowed) every soft step handed off to an operator, said as such. */
function blockedWords(plan: MitigationPlan | undefined): string {
  const soft = plan?.stages[0];
  if (soft?.allowed && !soft.actions.length && soft.handedOff.length) {
    return (
      `nothing applied automatically: ${soft.handedOff.length} step(s) handed off to an operator: ` +
      `${soft.handedOff.map((h) => `${h.title} (${h.reason})`).join('; ')}`
    );
  }
  return `mitigation blocked by policy: ${plan?.reasons.join('; ') ?? ''}`;
}

function handedOffDetail(
  steps: readonly NonNullable<WorkflowState['plan']>['handedOff'][number][],
): { step: string; level: string; control: string; cause: string; reason: string }[] {
  return steps.map((h) => ({ step: h.stepId, level: h.level, control: h.control, cause: h.cause, reason: h.reason }));
}

function requireStage(plan: MitigationPlan, level: ActionLevel): PlanStage {
  const stage = plan.stages.find((s) => s.level === level);
  if (!stage) throw new Error(`plan ${plan.id} has no ${level} stage`);
  return stage;
}

function requirePlan(state: WorkflowState): MitigationPlan {
  if (!state.plan) throw new Error('the execution has no plan yet (the Plan task must run first)');
  return state.plan;
}

/** A caught Lambda error's Cause is its `{errorMessage, errorType, trace}` JSON in AWS, the bare message locally. */
function errorMessage(cause: string | undefined): string {
  try {
    const parsed = JSON.parse(cause ?? '') as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  return cause ?? '';
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/**
 * The single task Lambda: the state machine passes `{ op, state }`.
 *
 * @example
 * const planned = await runMitigationOp({ op: 'plan', state: { input } }, deps);
 * // what the state machine's task does per state
 * const applied = await runMitigationOp({ op: 'apply', state: planned }, deps);
 */
export async function runMitigationOp(
  event: {
    op: MitigationOp;
    state: Partial<WorkflowState> & Pick<WorkflowState, 'input'>;
    outcome?: WorkflowState['outcome'];
    /** The token the execution waits on (`request-approval`, a waitForTaskToken task). */
    taskToken?: string;
  },
  deps: MitigationDeps,
): Promise<WorkflowState> {
  const state: WorkflowState = {
    ...event.state,
    applied: event.state.applied ?? [],
    checks: event.state.checks ?? 0,
    rolledBack: event.state.rolledBack ?? [],
  };
  switch (event.op) {
    case 'plan':
      return planStep(state, deps);
    case 'apply':
      return applyStep(state, deps);
    case 'request-approval':
      if (!event.taskToken) throw new Error('request-approval needs the task token');
      return requestApprovalStep(state, deps, event.taskToken);
    case 'apply-approved':
      return applyApprovedStep(state, deps);
    case 'approval-expired':
      return approvalExpiredStep(state, deps);
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
