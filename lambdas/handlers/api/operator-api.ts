import type { Logger } from '@aws-lambda-powertools/logger';
import {
  anomalyListing,
  changeBadges,
  changeEffect,
  costAtDetection,
  estimateRangeSavings,
  summariseActions,
  type ActionSummary,
} from '../../core/api/activity.js';
import { ApiError } from '../../core/api/errors.js';
import { routeById, type RouteId } from '../../core/api/routes.js';
import { correlationSpan, SCORE_METHOD, scoreSignals } from '../../core/api/score.js';
import {
  rangeMs,
  type ApproveRequest,
  type ChangeRequest,
  type FeedbackRequest,
  type MitigateRequest,
  type ReportQuery,
  type RollbackRequest,
  type ScoreRequest,
  type TimelineQuery,
  type WhitelistRequest,
} from '../../core/api/schemas.js';
import type { KeyDetection } from '../../core/score-windows.js';
import { scorePoint } from '../../core/detection/index.js';
import type { ChangeRecord } from '../../core/envelope.js';
import { ENGAGEMENT_SIGNAL, metricKey } from '../../core/observations.js';
import type { PlaybookStep } from '../../core/mitigation/actions.js';
import { controlKey, episodeHash, episodeRollbackKey } from '../../core/mitigation/keys.js';
import { playbookById, PLAYBOOKS, UnknownPlaybookError } from '../../core/mitigation/playbooks.js';
import { planRollback } from '../../core/mitigation/rollback.js';
import { KNOWN_SIGNALS, signalSpec } from '../../core/signals.js';
import { episodeKeyOf, outstandingActions } from '../../core/mitigation/journal.js';
import {
  FEEDBACK_RULE,
  feedbackOutcome,
  keySensitivity,
  suggestForExpected,
  type FeedbackEntry,
} from '../../core/feedback.js';
import type { ActionLedger } from '../../core/ports/action-ledger.js';
import type { ApprovalStore, TaskTokenResponder } from '../../core/ports/approval-store.js';
import { answerApproval, parseApprovalKey, type ApprovalRequest } from '../../core/mitigation/approval.js';
import type { FeedbackStore } from '../../core/ports/feedback-store.js';
import type { AnomalyReader, StoredAnomaly } from '../../core/ports/anomaly-store.js';
import type {
  ChangeStore,
  OperatorChange,
  OperatorChangeStore,
  WhitelistStore,
} from '../../core/ports/change-store.js';
import type { MitigationControl, MitigationTimings } from '../../core/ports/mitigation-starter.js';
import type { EpisodeTraceStore } from '../../core/ports/episode-trace-store.js';
import type { ReportStore } from '../../core/ports/report-store.js';
import { costCard, type CostCardMitigation, type CostCardSeries } from '../../core/report/cost-card.js';
import type { CostCard } from '../../core/report/model.js';
import type { RollbackRequester } from '../../core/ports/rollback-requester.js';
import type { WindowStore } from '../../core/ports/window-store.js';
import { planStep, type PlanDeps } from '../../usecases/mitigation-steps.js';
import { mitigationInput } from '../../adapters/mitigation-starter.js';
import { apiHandler, callerOf, type ApiHandler } from './http.js';
import { MINUTE_MS } from '../../core/time.js';

export interface ScoreDeps {
  windows: Pick<WindowStore, 'loadMany'>;
  changes: Pick<ChangeStore, 'startedBetween'>;
}

export interface MitigateDeps {
  anomalies: Pick<AnomalyReader, 'get'>;
  mitigations: Pick<MitigationControl, 'start' | 'describe'>;
  planning: Omit<PlanDeps, 'execution'>;
  timings: MitigationTimings;
  /**
   * The plan's steps whose target this deployment has not configured, and what happens to them
   * (`flag-table`: written as a flag for the service to read; `hand-off`): the dry run lists them.
   */
  unconfiguredTargets?: (
    steps: readonly PlaybookStep[],
  ) => readonly { step: PlaybookStep; handling: 'flag-table' | 'hand-off'; error: Error }[];
}

export interface RollbackDeps {
  now: () => number;
  /** Reads the journal (intents included) and writes only the halt marker. */
  ledger: Pick<ActionLedger, 'journal' | 'halt'>;
  mitigations: Pick<MitigationControl, 'stop' | 'describe'>;
  rollbacks: RollbackRequester;
}

export interface ReportDeps {
  anomalies: Pick<AnomalyReader, 'between'>;
  ledger: Pick<ActionLedger, 'entries'>;
  /** Where the RCA reports are; without it the report lists no links. */
  reports?: Pick<ReportStore, 'list' | 'link'>;
  /** The episodes' approval requests (pending ones get the dashboard's buttons); without it none are listed. */
  approvals?: Pick<ApprovalStore, 'ofEpisode'>;
  /** The cost anomalies' traced minutes, for the cost card; without it the report has no `costCard`. */
  traces?: Pick<EpisodeTraceStore, 'series'>;
  now: () => number;
}

/** Download links are short-lived: the caller was authorized just now, not for later. */
export const REPORT_LINK_SECONDS = 300;

export interface WhitelistDeps {
  whitelist: Pick<WhitelistStore, 'addWhitelist'>;
  now: () => number;
}

export interface TimelineDeps extends ReportDeps {
  windows: Pick<WindowStore, 'loadMany'>;
  /** `affecting`: the tenant's and platform-wide (`*`) changes running in the range, with who declared them. */
  changes: Pick<ChangeStore, 'startedBetween'> &
    Pick<WhitelistStore, 'whitelists'> &
    Pick<OperatorChangeStore, 'affecting'>;
  /**
   * The minutes around each episode as the detector scored them (observed vs expected band); without it the timeline
   * has only the current band (and the report no cost card).
   */
  traces?: Pick<EpisodeTraceStore, 'series'>;
}

/** Episodes whose traced band a timeline draws, at most this many per request. */
const MAX_TRACED_EPISODES = 50;

/** Per-episode queries, a few at a time: a day rarely has more than a few dozen episodes. */
async function fewAtATime<T, R>(items: readonly T[], query: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += 8) out.push(...(await Promise.all(items.slice(i, i + 8).map(query))));
  return out;
}

export function createScoreHandler(deps: ScoreDeps, logger?: Logger): ApiHandler {
  return apiHandler<ScoreRequest>(
    routeById('score'),
    async (req) => {
      const keys = [...new Set(req.signals.map((s) => metricKey(s.tenant, s.signal)))];
      const span = correlationSpan(req);
      const tenants = [...new Set(req.signals.map((s) => s.tenant))];
      const [stored, changeLists] = await Promise.all([
        deps.windows.loadMany(keys),
        Promise.all(tenants.map((t) => deps.changes.startedBetween(t, span.from, span.to))),
      ]);
      const detections = new Map<string, KeyDetection>([...stored].map(([k, w]) => [k, w.state]));
      const changes = new Map<string, ChangeRecord[]>(tenants.map((t, i) => [t, changeLists[i]!]));
      return { status: 200, body: { results: scoreSignals(req, detections, changes), method: SCORE_METHOD } };
    },
    logger,
  );
}

/** The anomaly an operator names by its key, or a 404 that says where keys are found. */
async function requireAnomaly(anomalies: Pick<AnomalyReader, 'get'>, key: string): Promise<StoredAnomaly> {
  const anomaly = await anomalies.get(key);
  if (!anomaly) {
    throw new ApiError(
      404,
      'NotFound',
      `no anomaly with key ${key} (keys are in the alerts and in GET /v1/anomaly/report)`,
      {
        key,
      },
    );
  }
  return anomaly;
}

export function createMitigateHandler(deps: MitigateDeps, logger?: Logger): ApiHandler {
  return apiHandler<MitigateRequest>(
    routeById('mitigate'),
    async (req, event) => {
      const anomaly = await requireAnomaly(deps.anomalies, req.key);
      if (req.plan !== undefined) requirePlaybook(req.plan);
      const hash = episodeHash(anomaly.id);
      const { input } = mitigationInput(anomaly, deps.timings, {
        automatic: false,
        ...(req.plan !== undefined && { requestedPlan: req.plan }),
      });
      const planned = await planStep(
        { input, applied: [], checks: 0, rolledBack: [] },
        { ...deps.planning, execution: `api:${callerOf(event)}` },
      );
      const plan = planned.plan!;
      const decision = { allowed: plan.allowed, reasons: plan.reasons };
      if (req.dry_run) {
        const steps = plan.stages.flatMap((s) => [...s.actions, ...s.handedOff.map((h) => h.action)]);
        const unconfigured = (deps.unconfiguredTargets?.(steps.map((a) => a.step)) ?? []).map((u) => ({
          step: u.step.id,
          target: u.step.target,
          control: controlKey(u.step, anomaly.tenant),
          handling: u.handling,
          reason: u.error.message,
        }));
        return {
          status: 200,
          body: {
            dryRun: true,
            key: anomaly.id,
            plan,
            decision,
            rollbackKey: plan.rollbackKey,
            handedOff: plan.handedOff.map((h) => ({
              step: h.stepId,
              level: h.level,
              control: h.control,
              cause: h.cause,
              reason: h.reason,
              // Would wait for an operator's approval in the run (task token), instead of being left to do by hand.
              awaitsApproval: h.approvable,
            })),
            unconfiguredTargets: unconfigured,
          },
        };
      }
      const existing = await deps.mitigations.describe(hash);
      if (existing) throw alreadyMitigating(anomaly.id, existing);
      if (!plan.allowed)
        throw new ApiError(
          403,
          'PolicyDenied',
          `the guardrails deny mitigating ${anomaly.id}: ${plan.reasons.join('; ')}`,
          { key: anomaly.id, decision },
        );
      const started = await deps.mitigations.start(anomaly, {
        automatic: false,
        ...(req.plan !== undefined && { requestedPlan: req.plan }),
      });
      if (!started.started) throw alreadyMitigating(anomaly.id, { execution: started.execution, status: 'RUNNING' });
      return {
        status: 202,
        body: {
          key: anomaly.id,
          execution: started.execution,
          rollbackKey: plan.rollbackKey,
          plan: { id: plan.id, playbook: plan.playbook },
          decision,
        },
      };
    },
    logger,
  );
}

function requirePlaybook(id: string): void {
  try {
    playbookById(id);
  } catch (e) {
    if (!(e instanceof UnknownPlaybookError)) throw e;
    const known = PLAYBOOKS.map((p) => p.id);
    throw new ApiError(400, 'InvalidRequest', `plan: unknown playbook ${id}; known: ${known.join(', ')}`, {
      fields: [{ field: 'plan', message: 'unknown playbook' }],
      known,
    });
  }
}

function alreadyMitigating(key: string, existing: { execution: string; status: string }): ApiError {
  const words =
    existing.status === 'RUNNING'
      ? 'is being mitigated'
      : `was already mitigated (execution ${existing.status.toLowerCase()})`;
  return new ApiError(
    409,
    'Conflict',
    `${key} ${words}; roll back with its rollback key, or wait for the execution to end`,
    { key, ...existing },
  );
}

export function createRollbackHandler(deps: RollbackDeps, logger?: Logger): ApiHandler {
  return apiHandler<RollbackRequest>(
    routeById('rollback'),
    async (req, event) => {
      const episodeKey = episodeKeyOf(req.key);
      const wholeEpisode = req.key === episodeKey;
      const caller = callerOf(event);
      let halted = false;
      let stoppedExecution = false;
      if (wholeEpisode) {
        const hash = episodeKey.slice('rb-'.length);
        // Known: it has an execution, or something in its journal. A key nobody knows gets 404 and
        // no halt marker (which would block a later mitigation of that episode).
        const known =
          (await deps.mitigations.describe(hash)) !== undefined || (await deps.ledger.journal(episodeKey)).length > 0;
        if (!known)
          throw new ApiError(
            404,
            'NotFound',
            `nothing is known under ${req.key}: no mitigation execution and no action`,
            { key: req.key },
          );
        // Halt before reading what to undo: an execution that has started but recorded nothing yet is
        // stopped, and its apply task sees the halt before its next action and undoes its own.
        await deps.ledger.halt(episodeKey, caller, deps.now());
        halted = true;
        stoppedExecution = await deps.mitigations.stop(hash, `rollback ${req.key} requested by ${caller}`);
      }
      const journal = (await deps.ledger.journal(episodeKey)).filter(
        (e) => wholeEpisode || e.action.rollbackKey === req.key,
      );
      if (!wholeEpisode && !journal.length)
        throw new ApiError(404, 'NotFound', `no action was ever applied under ${req.key}`, { key: req.key });
      // Intents count: an apply that crashed before recording `applied` may have changed the control.
      const outstanding = planRollback(outstandingActions(journal), { intervalMs: 0 }).steps.map(
        (s) => s.action.rollbackKey,
      );
      if (outstanding.length) await deps.rollbacks.request(req.key, caller);
      const status = outstanding.length ? 'accepted' : journal.length ? 'already-rolled-back' : 'nothing-applied';
      return { status: 202, body: { key: req.key, status, outstanding, halted, stoppedExecution } };
    },
    logger,
  );
}

export function createReportHandler(deps: ReportDeps, logger?: Logger): ApiHandler {
  return apiHandler<ReportQuery>(
    routeById('report'),
    async (q) => {
      const to = deps.now();
      const from = to - rangeMs(q.range);
      const [anomalies, reports] = await Promise.all([
        deps.anomalies.between(from, to),
        reportLinks(deps.reports, from, to, to),
      ]);
      const [actions, approvals, card] = await Promise.all([
        actionsOf(anomalies, deps.ledger),
        approvalsOf(anomalies, deps.approvals),
        costSeriesOf(anomalies, deps.traces),
      ]);
      const byClass: Record<string, number> = {};
      for (const a of anomalies) byClass[a.class] = (byClass[a.class] ?? 0) + 1;
      return {
        status: 200,
        body: {
          range: { from, to, label: q.range },
          totals: {
            anomalies: anomalies.length,
            byClass,
            mitigated: new Set(actions.map((a) => a.episode)).size,
            actionsApplied: actions.length,
            actionsInEffect: actions.filter((a) => a.inEffect).length,
          },
          anomalies: anomalies.map((a) => anomalyListing(a, actions)),
          actions,
          approvals,
          savings: estimateRangeSavings(anomalies, actions, to),
          cost: costAtDetection(anomalies),
          ...(card && { costCard: reportCostCard(anomalies, actions, card, to) }),
          reports,
        },
      };
    },
    logger,
  );
}

export function createWhitelistHandler(deps: WhitelistDeps, logger?: Logger): ApiHandler {
  return apiHandler<WhitelistRequest>(
    routeById('whitelist'),
    async (req, event) => {
      const now = deps.now();
      if (req.window.to <= now)
        throw new ApiError(400, 'InvalidRequest', 'window.to: the window has already ended', {
          fields: [{ field: 'window.to', message: 'in the past' }],
        });
      const entry = {
        tenant: req.tenant,
        from: req.window.from,
        to: req.window.to,
        createdAt: now,
        reason: req.reason ?? `whitelisted by ${callerOf(event)}`,
      };
      await deps.whitelist.addWhitelist(entry);
      return {
        status: 201,
        body: {
          tenant: entry.tenant,
          window: { from: iso(entry.from), to: iso(entry.to) },
          reason: entry.reason,
          effect: 'automatic mitigation for this tenant is limited to soft steps inside the window',
        },
      };
    },
    logger,
  );
}

export interface ChangesDeps {
  operatorChanges: Pick<OperatorChangeStore, 'putOperatorChange'>;
  now: () => number;
}

/**
 * POST /v1/anomaly/changes: the only way to declare a platform-wide (`*`) or long change window
 * (the stream takes one tenant and at most a day). Audited: the IAM principal is stored with the
 * change and logged; idempotent by id.
 */
export function createChangesHandler(deps: ChangesDeps, logger?: Logger): ApiHandler {
  return apiHandler<ChangeRequest>(
    routeById('changes'),
    async (req, event) => {
      const now = deps.now();
      if (req.until <= now)
        throw new ApiError(400, 'InvalidRequest', 'until: the window has already ended', {
          fields: [{ field: 'until', message: 'in the past' }],
        });
      const change: OperatorChange = {
        v: 1,
        type: 'change',
        id: req.id,
        ts: req.ts,
        tenant: req.tenant,
        change: req.change,
        until: req.until,
        ...(req.region !== undefined && { region: req.region }),
        ...(req.title !== undefined && { title: req.title }),
        createdBy: callerOf(event),
        createdAt: now,
      };
      const out = await deps.operatorChanges.putOperatorChange(change);
      const audit = {
        id: change.id,
        tenant: change.tenant,
        change: change.change,
        from: iso(change.ts),
        until: iso(change.until),
        region: change.region,
        requestedBy: change.createdBy,
        requestId: event.requestContext?.requestId,
        outcome: out.outcome,
      };
      if (out.outcome === 'conflict') {
        logger?.warn('change window refused: id already used', { ...audit, storedBy: out.stored.createdBy });
        throw new ApiError(
          409,
          'Conflict',
          `id ${change.id} is already used by another change ` +
            `(${out.stored.change} of ${out.stored.tenant} from ${iso(out.stored.ts)}); use a new id`,
          { id: change.id, stored: changeBadges([out.stored])[0] },
        );
      }
      logger?.info(out.outcome === 'created' ? 'change window declared' : 'change window already declared', audit);
      const [stored] = changeBadges([out.stored]);
      return {
        status: out.outcome === 'created' ? 201 : 200,
        body: { change: stored, created: out.outcome === 'created', effect: changeEffect(out.stored) },
      };
    },
    logger,
  );
}

export interface FeedbackDeps {
  anomalies: Pick<AnomalyReader, 'get'>;
  feedback: Pick<FeedbackStore, 'ofAnomaly' | 'add' | 'givenBetween'>;
  now: () => number;
}

/**
 * POST /v1/anomaly/feedback: an operator's verdict on an anomaly, stored with the caller (IAM
 * principal) as a new entry; the same verdict again changes nothing (200). `false_positive` makes the
 * key less sensitive for a while (lambdas/core/feedback.ts FEEDBACK_RULE, applied by the consumer);
 * `expected` answers with the whitelist or change-window request to send, without sending it.
 */
export function createFeedbackHandler(deps: FeedbackDeps, logger?: Logger): ApiHandler {
  return apiHandler<FeedbackRequest>(
    routeById('feedback'),
    async (req, event) => {
      const anomaly = await requireAnomaly(deps.anomalies, req.key);
      const now = deps.now();
      const history = await deps.feedback.ofAnomaly(anomaly);
      const decided = feedbackOutcome(history, anomaly.id, req.verdict);
      const by = callerOf(event);
      const entry: FeedbackEntry = {
        anomaly: anomaly.id,
        key: anomaly.key,
        tenant: anomaly.tenant,
        signal: anomaly.signal,
        verdict: req.verdict,
        by,
        at: now,
        ...(req.note !== undefined && { note: req.note }),
      };
      if (decided.outcome !== 'unchanged') await deps.feedback.add(entry);
      const stored = decided.outcome === 'unchanged' ? decided.previous : entry;
      const audit = {
        key: anomaly.id,
        verdict: req.verdict,
        previous: decided.previous?.verdict,
        requestedBy: by,
        requestId: event.requestContext?.requestId,
        outcome: decided.outcome,
      };
      logger?.info(decided.outcome === 'unchanged' ? 'verdict already recorded' : 'verdict recorded', audit);
      const body: Record<string, unknown> = {
        key: anomaly.id,
        verdict: stored.verdict,
        by: stored.by,
        at: iso(stored.at),
        ...(stored.note !== undefined && { note: stored.note }),
        recorded: decided.outcome !== 'unchanged',
        previous: decided.previous
          ? { verdict: decided.previous.verdict, by: decided.previous.by, at: iso(decided.previous.at) }
          : null,
        entries: history.length + (decided.outcome === 'unchanged' ? 0 : 1),
      };
      if (req.verdict === 'false_positive' || decided.previous?.verdict === 'false_positive') {
        const recent = await deps.feedback.givenBetween(anomaly.key, now - FEEDBACK_RULE.windowMs, now);
        if (decided.outcome !== 'unchanged' && !recent.some((e) => e.at === entry.at && e.anomaly === entry.anomaly))
          recent.push(entry);
        const s = keySensitivity(recent, now);
        const lastFalsePositive = Math.max(
          ...recent.filter((e) => s.falsePositives.includes(e.anomaly)).map((e) => e.at),
          Number.NEGATIVE_INFINITY,
        );
        body.sensitivity = {
          key: anomaly.key,
          falsePositives: s.falsePositives.length,
          requiredConfidence: s.required,
          alwaysPagesAt: FEEDBACK_RULE.alwaysPagesAt,
          until: Number.isFinite(lastFalsePositive) ? iso(lastFalsePositive + FEEDBACK_RULE.windowMs) : null,
        };
        body.effect = s.falsePositives.length
          ? `${anomaly.key} pages only at confidence ${s.required} or more ` +
            `(always at ${FEEDBACK_RULE.alwaysPagesAt}) ` +
            `while false positives from the last ${FEEDBACK_RULE.windowMs / 86_400_000} days count`
          : `${anomaly.key} pages as before`;
      }
      if (req.verdict === 'expected') {
        const s = suggestForExpected(anomaly, now);
        body.suggested = s.suggested;
        body.alternative = s.alternative;
        const path = s.suggested.route.split(' ')[1];
        body.effect = `nothing declared: send the suggested request to ${path} to declare it`;
      }
      return { status: decided.outcome === 'unchanged' ? 200 : 201, body };
    },
    logger,
  );
}

export interface ApproveDeps {
  approvals: ApprovalStore;
  /** Resumes the execution waiting on the request's task token (Step Functions SendTaskSuccess). */
  taskTokens: TaskTokenResponder;
  now: () => number;
}

/**
 * POST /v1/anomaly/approve: an operator's answer to the steps an execution waits on. The answer is
 * stored first (conditional: a request is answered once, before it expires) with the caller (IAM
 * principal), then the execution is resumed; the workflow reads the answer from the store and records
 * it in the ledger. An answer the execution no longer waits for (timed out) is 409 and applies nothing.
 */
export function createApproveHandler(deps: ApproveDeps, logger?: Logger): ApiHandler {
  return apiHandler<ApproveRequest>(
    routeById('approve'),
    async (req, event) => {
      const request = await requireApproval(deps.approvals, req.key);
      const by = callerOf(event);
      const now = deps.now();
      const audit = {
        key: request.key,
        decision: req.decision,
        requestedBy: by,
        requestId: event.requestContext?.requestId,
      };
      let answer = answerApproval(request, req.decision);
      if (answer.kind === 'decide') {
        const stored = await deps.approvals.decide(request.key, {
          status: answer.status,
          by,
          at: now,
          reason: req.reason,
        });
        if (stored) {
          const resumed = await deps.taskTokens.succeed(request.token, { decision: req.decision, by });
          if (resumed === 'expired') {
            // The execution stopped waiting (timed out or was stopped) between the read and the answer.
            await deps.approvals.decide(
              request.key,
              {
                status: 'expired',
                by: 'approval timeout',
                at: now,
                reason: 'answered after the execution stopped waiting',
              },
              answer.status,
            );
            logger?.warn('approval answered too late', audit);
            throw new ApiError(409, 'Conflict', `${request.key}: the execution no longer waits; nothing was applied`, {
              key: request.key,
            });
          }
          logger?.info('approval answered', audit);
          return {
            status: 200,
            body: approvalListing(
              { ...request, status: answer.status, decidedBy: by, decidedAt: now, reason: req.reason },
              { recorded: true },
            ),
          };
        }
        // Answered by someone else meanwhile: judge this answer against theirs.
        answer = answerApproval((await deps.approvals.get(request.key)) ?? request, req.decision);
      }
      if (answer.kind === 'conflict')
        throw new ApiError(409, 'Conflict', `${request.key}: ${answer.reason}`, { key: request.key });
      logger?.info('approval already answered the same way', audit);
      return {
        status: 200,
        body: approvalListing((await deps.approvals.get(request.key)) ?? request, { recorded: false }),
      };
    },
    logger,
  );
}

/** By its own key, or the one pending request of an episode named by its rollback key. */
async function requireApproval(store: ApprovalStore, key: string): Promise<ApprovalRequest> {
  const found = parseApprovalKey(key)
    ? await store.get(key)
    : (await store.ofEpisode(key)).filter((r) => r.status === 'pending').at(-1);
  if (!found)
    throw new ApiError(
      404,
      'NotFound',
      parseApprovalKey(key)
        ? `no approval request ${key}`
        : `no approval request is pending for ${key}; name the request (rb-…-approve-soft or -hard)`,
      { key },
    );
  return found;
}

/** An approval request as the API shows it (the task token never leaves the store). */
export function approvalListing(r: ApprovalRequest, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key: r.key,
    status: r.status,
    rollbackKey: r.rollbackKey,
    anomalyKey: r.anomalyKey,
    tenant: r.tenant,
    signal: r.signal,
    incident: r.incident ?? null,
    playbook: r.playbook,
    stage: r.stage,
    steps: r.steps.map((s) => ({
      step: s.action.step.id,
      title: s.action.step.title,
      control: controlKey(s.action.step, s.action.tenant),
      value: s.action.step.value,
      rollbackKey: s.action.rollbackKey,
      reason: s.reason,
    })),
    requestedAt: iso(r.requestedAt),
    expiresAt: iso(r.answerBy),
    decidedBy: r.decidedBy ?? null,
    decidedAt: r.decidedAt === undefined ? null : iso(r.decidedAt),
    reason: r.reason ?? null,
    ...extra,
  };
}

/** The approval requests of the anomalies' episodes, oldest first. */
async function approvalsOf(
  anomalies: readonly StoredAnomaly[],
  store: Pick<ApprovalStore, 'ofEpisode'> | undefined,
): Promise<Record<string, unknown>[]> {
  if (!store) return [];
  const lists = await fewAtATime(anomalies, (a) => store.ofEpisode(episodeRollbackKey(a.id)));
  return lists
    .flat()
    .sort((a, b) => a.requestedAt - b.requestedAt)
    .map((r) => approvalListing(r));
}

export function createTimelineHandler(deps: TimelineDeps, logger?: Logger): ApiHandler {
  return apiHandler<TimelineQuery>(
    routeById('timeline'),
    async (q) => {
      const to = deps.now();
      const from = to - rangeMs(q.range);
      const anomalies = (await deps.anomalies.between(from, to)).filter((a) => a.tenant === q.tenant);
      const signals = [
        ...new Set([
          ...Object.keys(KNOWN_SIGNALS).filter((s) => s !== ENGAGEMENT_SIGNAL),
          ...anomalies.map((a) => a.signal),
        ]),
      ];
      const [actions, approvals, stored, changes, whitelists, traced] = await Promise.all([
        actionsOf(anomalies, deps.ledger),
        approvalsOf(anomalies, deps.approvals),
        deps.windows.loadMany(signals.map((s) => metricKey(q.tenant, s))),
        deps.changes.affecting(q.tenant, from, to),
        deps.changes.whitelists(q.tenant, from, to),
        tracesOf(anomalies, deps.traces),
      ]);
      const series = [...stored.values()]
        .map(({ state }) => {
          const points = state.buckets
            .filter((b) => b.n > 0 && b.m * MINUTE_MS >= from)
            .map((b) => ({ ts: b.m * MINUTE_MS, observed: b.sum / b.n }));
          const last = points.at(-1);
          // The band the detector expects now: what the next point would be scored against.
          const now =
            last && state.det
              ? scorePoint(state.det, { ts: last.ts, value: last.observed }, signalSpec(state.signal).bad)
              : undefined;
          // The window keeps only the minutes its detector still needs; the traces keep each episode's.
          const trace = (traced.get(state.signal) ?? []).filter((b) => b.ts >= from);
          return {
            key: state.key,
            signal: state.signal,
            unit: signalSpec(state.signal).unit,
            // Which way the signal goes wrong: what "outside the band" means for it (the dashboard's grid).
            bad: signalSpec(state.signal).bad,
            points,
            trace,
            expected: now ? { ts: last!.ts, value: now.expected, band: now.band } : null,
          };
        })
        .filter((s) => s.points.length)
        .sort((a, b) => a.signal.localeCompare(b.signal));
      return {
        status: 200,
        body: {
          tenant: q.tenant,
          range: { from, to, label: q.range },
          signals: series,
          anomalies: anomalies.map((a) => anomalyListing(a, actions)),
          changes: changeBadges(changes),
          whitelists: whitelists.map((w) => ({ from: w.from, to: w.to, reason: w.reason ?? null })),
          actions,
          approvals,
        },
      };
    },
    logger,
  );
}

type TracedMinute = { ts: number; observed: number; expected: number | null; lo: number | null; hi: number | null };

/** Per signal, every traced episode minute as the detector scored it, ascending (a later episode's minute wins). */
async function tracesOf(
  anomalies: readonly StoredAnomaly[],
  traces: TimelineDeps['traces'],
): Promise<Map<string, TracedMinute[]>> {
  if (!traces) return new Map();
  const episodes = [...anomalies].sort((a, b) => a.start - b.start).slice(-MAX_TRACED_EPISODES);
  const series = await fewAtATime(episodes, (a) => traces.series(a.id));
  const bySignal = new Map<string, Map<number, TracedMinute>>();
  episodes.forEach((a, i) => {
    const minutes = bySignal.get(a.signal) ?? new Map<number, TracedMinute>();
    for (const p of series[i]!)
      minutes.set(p.ts, {
        ts: p.ts,
        observed: p.observed,
        expected: p.expected ?? null,
        lo: p.band?.lo ?? null,
        hi: p.band?.hi ?? null,
      });
    bySignal.set(a.signal, minutes);
  });
  return new Map([...bySignal].map(([signal, m]) => [signal, [...m.values()].sort((a, b) => a.ts - b.ts)]));
}

/** The range's cost anomalies whose traces the report's cost card reads, at most this many (the latest). */
const MAX_COST_CARD_EPISODES = 200;

interface CostCardTraces {
  series: CostCardSeries[];
  /** Cost anomalies of the range left out by `MAX_COST_CARD_EPISODES`. */
  omitted: number;
}

/** The cost anomalies' traced minutes, in the anomalies' order (oldest first); undefined without a trace store. */
async function costSeriesOf(
  anomalies: readonly StoredAnomaly[],
  traces: ReportDeps['traces'],
): Promise<CostCardTraces | undefined> {
  if (!traces) return undefined;
  const costly = anomalies
    .filter((a) => signalSpec(a.signal).category === 'cost')
    .sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
  const read = costly.slice(-MAX_COST_CARD_EPISODES);
  const points = await fewAtATime(read, (a) => traces.series(a.id));
  return {
    // The anomaly's expected value stands in for a traced minute without one (the context before the episode).
    series: read.map((a, i) => ({ tenant: a.tenant, signal: a.signal, points: points[i]!, expected: a.expected })),
    omitted: costly.length - read.length,
  };
}

/**
 * Seed 004 §G cost card over the day, week and month ending now: forecast vs actual from the cost anomalies' traced
 * minutes, and each mitigated cost episode's before/after from its first applied action to its recovery.
 */
function reportCostCard(
  anomalies: readonly StoredAnomaly[],
  actions: readonly ActionSummary[],
  traced: CostCardTraces,
  now: number,
): CostCard {
  const firstAction = new Map<string, number>();
  for (const a of actions)
    firstAction.set(a.episode, Math.min(firstAction.get(a.episode) ?? Number.POSITIVE_INFINITY, a.appliedAt));
  const mitigations: CostCardMitigation[] = anomalies.flatMap((a) => {
    const first = firstAction.get(a.id);
    if (first === undefined || signalSpec(a.signal).category !== 'cost') return [];
    const m: CostCardMitigation = {
      id: a.id,
      tenant: a.tenant,
      signal: a.signal,
      start: a.start,
      firstActionAt: first,
    };
    if (a.recoveredAt !== undefined) m.end = a.recoveredAt;
    return [m];
  });
  const card = costCard({ to: now, series: traced.series, mitigations });
  card.assumptions.push(
    'Only the minutes the cost anomalies of the report’s range traced are counted: a period longer than the range, ' +
      'or its minutes outside any cost episode, are not in the sums.',
  );
  if (traced.omitted)
    card.assumptions.push(
      `${traced.omitted} older cost anomal${traced.omitted === 1 ? 'y' : 'ies'} of the range left out: the card ` +
        `reads the traces of the latest ${MAX_COST_CARD_EPISODES}.`,
    );
  return card;
}

async function actionsOf(
  anomalies: readonly StoredAnomaly[],
  ledger: Pick<ActionLedger, 'entries'>,
): Promise<ActionSummary[]> {
  const lists = await fewAtATime(anomalies, (a) => ledger.entries(episodeRollbackKey(a.id)));
  return summariseActions(lists.flat());
}

async function reportLinks(store: ReportDeps['reports'], from: number, to: number, now: number) {
  if (!store) return [];
  const expiresAt = new Date(now + REPORT_LINK_SECONDS * 1000).toISOString();
  const reports = await store.list(from, to);
  const linksOf = async (objects: Record<string, string>, downloadAs?: (file: string) => string) =>
    Object.fromEntries(
      await Promise.all(
        Object.entries(objects).map(
          async ([file, key]) => [file, await store.link(key, REPORT_LINK_SECONDS, downloadAs?.(file))] as const,
        ),
      ),
    );
  return Promise.all(
    reports.map(async (r) => ({
      id: r.id,
      kind: r.kind,
      day: r.day,
      links: await linksOf(r.objects),
      // The same objects, answered as attachments: one click saves the file instead of opening it.
      downloads: await linksOf(r.objects, (file) => `${r.id}-${file}`),
      expiresAt,
    })),
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export type OperatorApiDeps = ScoreDeps &
  MitigateDeps &
  RollbackDeps &
  ReportDeps &
  WhitelistDeps &
  TimelineDeps &
  ChangesDeps &
  FeedbackDeps &
  ApproveDeps;

/** Every route over one set of adapters: what the local runtime serves. */
export function createOperatorApi(deps: OperatorApiDeps, logger?: Logger): Record<RouteId, ApiHandler> {
  return {
    score: createScoreHandler(deps, logger),
    mitigate: createMitigateHandler(deps, logger),
    rollback: createRollbackHandler(deps, logger),
    report: createReportHandler(deps, logger),
    whitelist: createWhitelistHandler(deps, logger),
    timeline: createTimelineHandler(deps, logger),
    changes: createChangesHandler(deps, logger),
    feedback: createFeedbackHandler(deps, logger),
    approve: createApproveHandler(deps, logger),
  };
}
