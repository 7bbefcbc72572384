import type { Logger } from '@aws-lambda-powertools/logger';
import { anomalyListing, changeBadges, costAtDetection, estimateRangeSavings, summariseActions, type ActionSummary } from '../../core/api/activity.js';
import { ApiError } from '../../core/api/errors.js';
import { routeById, type RouteId } from '../../core/api/routes.js';
import { correlationSpan, SCORE_METHOD, scoreSignals } from '../../core/api/score.js';
import { rangeMs, type MitigateRequest, type ReportQuery, type RollbackRequest, type ScoreRequest, type TimelineQuery, type WhitelistRequest } from '../../core/api/schemas.js';
import type { KeyDetection } from '../../core/detect.js';
import { scorePoint } from '../../core/detection/index.js';
import type { ChangeRecord } from '../../core/envelope.js';
import { ENGAGEMENT_SIGNAL, metricKey } from '../../core/observations.js';
import { episodeHash, episodeRollbackKey } from '../../core/mitigation/keys.js';
import { playbookById, PLAYBOOKS, UnknownPlaybookError } from '../../core/mitigation/playbooks.js';
import { KNOWN_SIGNALS, signalSpec } from '../../core/signals.js';
import { episodeKeyOf, type ActionLedger } from '../../adapters/action-ledger.js';
import type { AnomalyReader, StoredAnomaly } from '../../adapters/anomaly-store.js';
import type { ChangeStore, WhitelistStore } from '../../adapters/change-store.js';
import type { MitigationControl, MitigationTimings } from '../../adapters/mitigation-starter.js';
import type { EpisodeTraceStore } from '../../adapters/episode-trace-store.js';
import type { ReportStore } from '../../adapters/report-store.js';
import type { RollbackRequester } from '../../adapters/rollback-requester.js';
import type { WindowStore } from '../../adapters/window-store.js';
import { planStep, type PlanDeps } from '../mitigation-steps.js';
import { apiHandler, callerOf, type ApiHandler } from './http.js';

export interface ScoreDeps {
  windows: Pick<WindowStore, 'loadMany'>;
  changes: Pick<ChangeStore, 'startedBetween'>;
}

export interface MitigateDeps {
  anomalies: Pick<AnomalyReader, 'get'>;
  mitigations: Pick<MitigationControl, 'start' | 'describe'>;
  planning: Omit<PlanDeps, 'execution'>;
  timings: MitigationTimings;
}

export interface RollbackDeps {
  now: () => number;
  ledger: Pick<ActionLedger, 'entries' | 'halt'>;
  mitigations: Pick<MitigationControl, 'stop'>;
  rollbacks: RollbackRequester;
}

export interface ReportDeps {
  anomalies: Pick<AnomalyReader, 'between'>;
  ledger: Pick<ActionLedger, 'entries'>;
  /** Where the RCA reports are; without it the report lists no links. */
  reports?: Pick<ReportStore, 'list' | 'link'>;
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
  changes: Pick<ChangeStore, 'startedBetween'> & Pick<WhitelistStore, 'whitelists'>;
  /** The minutes around each episode as the detector scored them (observed vs expected band); without it the timeline has only the current band. */
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
      const [stored, changeLists] = await Promise.all([deps.windows.loadMany(keys), Promise.all(tenants.map((t) => deps.changes.startedBetween(t, span.from, span.to)))]);
      const detections = new Map<string, KeyDetection>([...stored].map(([k, w]) => [k, w.state]));
      const changes = new Map<string, ChangeRecord[]>(tenants.map((t, i) => [t, changeLists[i]!]));
      return { status: 200, body: { results: scoreSignals(req, detections, changes), method: SCORE_METHOD } };
    },
    logger,
  );
}

export function createMitigateHandler(deps: MitigateDeps, logger?: Logger): ApiHandler {
  return apiHandler<MitigateRequest>(
    routeById('mitigate'),
    async (req, event) => {
      const anomaly = await deps.anomalies.get(req.key);
      if (!anomaly) throw new ApiError(404, 'NotFound', `no anomaly with key ${req.key} (keys are in the alerts and in GET /v1/anomaly/report)`, { key: req.key });
      if (req.plan !== undefined) requirePlaybook(req.plan);
      const hash = episodeHash(anomaly.id);
      const input = { anomaly, automatic: false, ...deps.timings, ...(req.plan !== undefined && { requestedPlan: req.plan }) };
      const planned = await planStep({ input, applied: [], checks: 0, rolledBack: [] }, { ...deps.planning, execution: `api:${callerOf(event)}` });
      const plan = planned.plan!;
      const decision = { allowed: plan.allowed, reasons: plan.reasons };
      if (req.dry_run) return { status: 200, body: { dryRun: true, key: anomaly.id, plan, decision, rollbackKey: plan.rollbackKey } };
      const existing = await deps.mitigations.describe(hash);
      if (existing) throw alreadyMitigating(anomaly.id, existing);
      if (!plan.allowed) throw new ApiError(403, 'PolicyDenied', `the guardrails deny mitigating ${anomaly.id}: ${plan.reasons.join('; ')}`, { key: anomaly.id, decision });
      const started = await deps.mitigations.start(anomaly, { automatic: false, ...(req.plan !== undefined && { requestedPlan: req.plan }) });
      if (!started.started) throw alreadyMitigating(anomaly.id, { execution: started.execution, status: 'RUNNING' });
      return { status: 202, body: { key: anomaly.id, execution: started.execution, rollbackKey: plan.rollbackKey, plan: { id: plan.id, playbook: plan.playbook }, decision } };
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
    throw new ApiError(400, 'InvalidRequest', `plan: unknown playbook ${id}; known: ${known.join(', ')}`, { fields: [{ field: 'plan', message: 'unknown playbook' }], known });
  }
}

function alreadyMitigating(key: string, existing: { execution: string; status: string }): ApiError {
  const words = existing.status === 'RUNNING' ? 'is being mitigated' : `was already mitigated (execution ${existing.status.toLowerCase()})`;
  return new ApiError(409, 'Conflict', `${key} ${words}; roll back with its rollback key, or wait for the execution to end`, { key, ...existing });
}

export function createRollbackHandler(deps: RollbackDeps, logger?: Logger): ApiHandler {
  return apiHandler<RollbackRequest>(
    routeById('rollback'),
    async (req, event) => {
      const episodeKey = episodeKeyOf(req.key);
      const actions = summariseActions(await deps.ledger.entries(episodeKey)).filter((a) => req.key === episodeKey || a.rollbackKey === req.key);
      if (!actions.length) throw new ApiError(404, 'NotFound', `no action was ever applied under ${req.key}`, { key: req.key });
      const caller = callerOf(event);
      let stoppedExecution = false;
      if (req.key === episodeKey) {
        // Rolling back a whole episode ends its mitigation: nothing more is applied, and the execution cannot escalate.
        await deps.ledger.halt(episodeKey, caller, deps.now());
        stoppedExecution = await deps.mitigations.stop(episodeKey.slice('rb-'.length), `rollback ${req.key} requested by ${caller}`);
      }
      const outstanding = actions.filter((a) => a.inEffect).map((a) => a.rollbackKey);
      if (outstanding.length) await deps.rollbacks.request(req.key, caller);
      return { status: 202, body: { key: req.key, status: outstanding.length ? 'accepted' : 'already-rolled-back', outstanding, stoppedExecution } };
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
      const [anomalies, reports] = await Promise.all([deps.anomalies.between(from, to), reportLinks(deps.reports, from, to, to)]);
      const actions = await actionsOf(anomalies, deps.ledger);
      const byClass: Record<string, number> = {};
      for (const a of anomalies) byClass[a.class] = (byClass[a.class] ?? 0) + 1;
      return {
        status: 200,
        body: {
          range: { from, to, label: q.range },
          totals: { anomalies: anomalies.length, byClass, mitigated: new Set(actions.map((a) => a.episode)).size, actionsApplied: actions.length, actionsInEffect: actions.filter((a) => a.inEffect).length },
          anomalies: anomalies.map((a) => anomalyListing(a, actions)),
          actions,
          savings: estimateRangeSavings(anomalies, actions, to),
          cost: costAtDetection(anomalies),
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
      if (req.window.to <= now) throw new ApiError(400, 'InvalidRequest', 'window.to: the window has already ended', { fields: [{ field: 'window.to', message: 'in the past' }] });
      const entry = { tenant: req.tenant, from: req.window.from, to: req.window.to, createdAt: now, reason: req.reason ?? `whitelisted by ${callerOf(event)}` };
      await deps.whitelist.addWhitelist(entry);
      return { status: 201, body: { tenant: entry.tenant, window: { from: iso(entry.from), to: iso(entry.to) }, reason: entry.reason, effect: 'automatic mitigation for this tenant is limited to soft steps inside the window' } };
    },
    logger,
  );
}

export function createTimelineHandler(deps: TimelineDeps, logger?: Logger): ApiHandler {
  return apiHandler<TimelineQuery>(
    routeById('timeline'),
    async (q) => {
      const to = deps.now();
      const from = to - rangeMs(q.range);
      const anomalies = (await deps.anomalies.between(from, to)).filter((a) => a.tenant === q.tenant);
      const signals = [...new Set([...Object.keys(KNOWN_SIGNALS).filter((s) => s !== ENGAGEMENT_SIGNAL), ...anomalies.map((a) => a.signal)])];
      const [actions, stored, changes, whitelists, traced] = await Promise.all([
        actionsOf(anomalies, deps.ledger),
        deps.windows.loadMany(signals.map((s) => metricKey(q.tenant, s))),
        deps.changes.startedBetween(q.tenant, from, to),
        deps.changes.whitelists(q.tenant, from, to),
        tracesOf(anomalies, deps.traces),
      ]);
      const series = [...stored.values()]
        .map(({ state }) => {
          const points = state.buckets.filter((b) => b.n > 0 && b.m * 60_000 >= from).map((b) => ({ ts: b.m * 60_000, observed: b.sum / b.n }));
          const last = points.at(-1);
          // The band the detector expects now: what the next point would be scored against.
          const now = last && state.det ? scorePoint(state.det, { ts: last.ts, value: last.observed }, signalSpec(state.signal).bad) : undefined;
          // The window keeps only the minutes its detector still needs; the traces keep each episode's.
          const trace = (traced.get(state.signal) ?? []).filter((b) => b.ts >= from);
          return { key: state.key, signal: state.signal, unit: signalSpec(state.signal).unit, points, trace, expected: now ? { ts: last!.ts, value: now.expected, band: now.band } : null };
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
        },
      };
    },
    logger,
  );
}

type TracedMinute = { ts: number; observed: number; expected: number | null; lo: number | null; hi: number | null };

/** Per signal, every traced episode minute as the detector scored it, ascending (a later episode's minute wins). */
async function tracesOf(anomalies: readonly StoredAnomaly[], traces: TimelineDeps['traces']): Promise<Map<string, TracedMinute[]>> {
  if (!traces) return new Map();
  const episodes = [...anomalies].sort((a, b) => a.start - b.start).slice(-MAX_TRACED_EPISODES);
  const series = await fewAtATime(episodes, (a) => traces.series(a.id));
  const bySignal = new Map<string, Map<number, TracedMinute>>();
  episodes.forEach((a, i) => {
    const minutes = bySignal.get(a.signal) ?? new Map<number, TracedMinute>();
    for (const p of series[i]!) minutes.set(p.ts, { ts: p.ts, observed: p.observed, expected: p.expected ?? null, lo: p.band?.lo ?? null, hi: p.band?.hi ?? null });
    bySignal.set(a.signal, minutes);
  });
  return new Map([...bySignal].map(([signal, m]) => [signal, [...m.values()].sort((a, b) => a.ts - b.ts)]));
}

async function actionsOf(anomalies: readonly StoredAnomaly[], ledger: Pick<ActionLedger, 'entries'>): Promise<ActionSummary[]> {
  const lists = await fewAtATime(anomalies, (a) => ledger.entries(episodeRollbackKey(a.id)));
  return summariseActions(lists.flat());
}

async function reportLinks(store: ReportDeps['reports'], from: number, to: number, now: number) {
  if (!store) return [];
  const expiresAt = new Date(now + REPORT_LINK_SECONDS * 1000).toISOString();
  const reports = await store.list(from, to);
  const linksOf = async (objects: Record<string, string>, downloadAs?: (file: string) => string) =>
    Object.fromEntries(await Promise.all(Object.entries(objects).map(async ([file, key]) => [file, await store.link(key, REPORT_LINK_SECONDS, downloadAs?.(file))] as const)));
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

export type OperatorApiDeps = ScoreDeps & MitigateDeps & RollbackDeps & ReportDeps & WhitelistDeps & TimelineDeps;

/** Every route over one set of adapters: what the local runtime serves. */
export function createOperatorApi(deps: OperatorApiDeps, logger?: Logger): Record<RouteId, ApiHandler> {
  return {
    score: createScoreHandler(deps, logger),
    mitigate: createMitigateHandler(deps, logger),
    rollback: createRollbackHandler(deps, logger),
    report: createReportHandler(deps, logger),
    whitelist: createWhitelistHandler(deps, logger),
    timeline: createTimelineHandler(deps, logger),
  };
}
