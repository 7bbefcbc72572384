import { alertMessage, describeAnomaly, incidentPage, incidentUpdate, type Anomaly } from '../core/anomaly.js';
import {
  DEFAULT_INCIDENT_WINDOW_MS,
  incidentIdOf,
  memberOf,
  mitigationScope,
  signalFamily,
} from '../core/incidents.js';
import { decodeBatch, type DecodedBatch, type RawRecord } from '../core/batch.js';
import { CHANGE_LOOKBACK_MS, CORRELATION_WINDOW_MS } from '../core/correlator.js';
import { scoreWindows, type DetectionSettings } from '../core/score-windows.js';
import { planEpisodeTrace, type TraceAppend } from '../core/episode-trace.js';
import type { EpisodeEvent } from '../core/episodes.js';
import type { Observation, StreamPosition } from '../core/observations.js';
import {
  compareSequence,
  episodeRegions,
  foldObservations,
  type FoldResult,
  type FoldStats,
  type KeyState,
  type WindowResult,
} from '../core/key-state.js';
import { isQuietFold } from '../core/window-carry.js';
import type { WindowSettings } from '../core/window-settings.js';
import { toDeadLetter } from '../core/dead-letter.js';
import type {
  AnomalyStore,
  ChangeStore,
  DeadLetterSink,
  EpisodeTraceStore,
  IncidentStore,
  MitigationStarter,
  Notifier,
  PositionLedger,
  ShardLineage,
  StoredWindow,
  WindowCarryStore,
  WindowStore,
} from '../core/ports/index.js';
import { forEachLimit } from '../core/concurrency.js';
import { applyFeedback, FEEDBACK_RULE, feedbackMayHoldBack } from '../core/feedback.js';
import type { FeedbackReader } from '../core/ports/feedback-store.js';

export interface StreamBatchDeps {
  readonly windows: WindowStore;
  readonly changes: ChangeStore;
  readonly anomalies: AnomalyStore;
  readonly notifier: Notifier;
  /** Starts the mitigation workflow for `mitigate` decisions (absent: alert only). */
  readonly mitigations?: MitigationStarter;
  /**
   * Groups anomalies that share a cause into incidents: one page and one mitigation per incident
   * (absent: every anomaly is an incident of its own, paged and mitigated alone).
   */
  readonly incidents?: IncidentStore;
  /** Largest gap between incident members' episode starts (default 10 min). */
  readonly incidentWindowMs?: number;
  readonly deadLetters: DeadLetterSink;
  /** Operator verdicts: recent false positives on a key raise the confidence it needs to page (absent: no effect). */
  readonly feedback?: FeedbackReader;
  /** Records each episode's minute series for the reports (absent: not recorded). */
  readonly traces?: EpisodeTraceStore;
  /** Which keyless side effects (dead letters, change records) an earlier delivery already did. */
  readonly ledger: PositionLedger;
  readonly settings: WindowSettings;
  readonly detection?: DetectionSettings;
  /** Names the consumer in dead letters (function name, or "local"). */
  readonly source: string;
  /** Processing time, for when an alert was sent. */
  readonly now?: () => number;
  /** Re-read and re-fold attempts per key when another writer got there first. */
  readonly maxConflictRetries?: number;
  /** Keys saved in parallel. */
  readonly saveConcurrency?: number;
  /** Longest change window a producer may put on the stream (ms); longer ones are dead-lettered. */
  readonly maxStreamChangeWindowMs?: number;
  /**
   * Tumbling windows: quiet keys are written every other window, their window carried per shard meanwhile
   * (lambdas/core/window-carry.ts). Absent: every key is written at every window's end.
   */
  readonly carry?: { readonly store: WindowCarryStore; readonly lineage?: ShardLineage };
}

/** The outcome's counters that add up over batches (what a run's totals sum; `keys` is per batch). */
export const BATCH_COUNTERS = [
  'received',
  'processed',
  'deadLettered',
  'late',
  'duplicate',
  'redelivered',
  'changes',
  'stateWrites',
  'writeUnits',
  'conflicts',
  'traceWrites',
  'deferred',
  'alerts',
  'incidentUpdates',
  'mitigationsStarted',
  'mitigationsJoined',
  'blips',
  'recovered',
] as const satisfies readonly (keyof BatchOutcome)[];

/** Every summed counter at 0: a batch's start, a run's totals. */
export function zeroCounters(): Record<(typeof BATCH_COUNTERS)[number], number> {
  return Object.fromEntries(BATCH_COUNTERS.map((k) => [k, 0])) as Record<(typeof BATCH_COUNTERS)[number], number>;
}

export interface BatchOutcome {
  received: number;
  /** Valid records accepted for the first time (folded, late, duplicate or stored changes). */
  processed: number;
  deadLettered: number;
  late: number;
  duplicate: number;
  redelivered: number;
  changes: number;
  keys: number;
  stateWrites: number;
  writeUnits: number;
  conflicts: number;
  /** Episode-trace points written (one item each), for keys in or just after an episode only. */
  traceWrites: number;
  /** Keys scored at a window's end but written at their next one (carried: lambdas/core/window-carry.ts). */
  deferred: number;
  windows: WindowResult[];
  /** Episodes confirmed in this batch (stored as anomaly records). */
  anomalies: Anomaly[];
  /** Pages published in this batch (at most one per incident, ever). */
  alerts: number;
  /** Follow-ups on an incident that had paged already (`decision: incident-update`; at most one per episode). */
  incidentUpdates: number;
  /** Mitigation workflows started in this batch (at most one per incident and scope, ever). */
  mitigationsStarted: number;
  /** `mitigate` decisions that joined their incident's mitigation instead of starting one. */
  mitigationsJoined: number;
  /** Episodes that ended without ever paging: one- or two-minute blips. */
  blips: number;
  recovered: number;
  /** Records whose effect could not be saved: report them so Lambda delivers them again. */
  failed: { position: StreamPosition; error: string }[];
}

const DEFAULT_CONFLICT_RETRIES = 5;
const DEFAULT_SAVE_CONCURRENCY = 16;

/**
 * The consumer's whole job for one batch: decode, dead-letter, store changes, fold, detect, alert and
 * save each key once.
 *
 * @example
 * const outcome = await processStreamBatch(records, {
 *   windows: new InMemoryWindowStore(), changes: new InMemoryChangeStore(), anomalies: new InMemoryAnomalyStore(),
 *   notifier, deadLetters, ledger: new InMemoryPositionLedger(), settings: DEFAULT_WINDOW_SETTINGS, source: 'replay',
 * });
 * outcome.failed; // positions to report as batchItemFailures (Lambda redelivers them)
 */
export async function processStreamBatch(records: readonly RawRecord[], deps: StreamBatchDeps): Promise<BatchOutcome> {
  const outcome = newOutcome(records.length);
  const batch = decodeRecords(records, deps);
  const fail = failRecorder(outcome);
  await keylessEffectsThen(batch, deps, outcome, fail, async () => {
    await detectAndSaveKeys(workOfObservations(batch.byKey, deps), deps, outcome, fail);
  });
  return outcome;
}

/** A batch's outcome before anything happened. */
export function newOutcome(received: number): BatchOutcome {
  return { ...zeroCounters(), received, keys: 0, windows: [], anomalies: [], failed: [] };
}

/** Records positions whose effect could not be saved, with the error, in `outcome.failed`. */
export type FailRecorder = (positions: readonly StreamPosition[], error: unknown) => void;

export function failRecorder(outcome: BatchOutcome): FailRecorder {
  return (positions, error) => {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    for (const position of positions) outcome.failed.push({ position, error: message });
  };
}

export function decodeRecords(records: readonly RawRecord[], deps: StreamBatchDeps): DecodedBatch {
  return decodeBatch(
    records,
    deps.maxStreamChangeWindowMs !== undefined ? { maxChangeWindowMs: deps.maxStreamChangeWindowMs } : {},
  );
}

/**
 * Dead letters and change records (once per stream position), then `keyed` (the keys' fold, detection and
 * save) once the changes are stored: an anomaly in this batch may be explained by a release in the same batch.
 */
export async function keylessEffectsThen(
  batch: DecodedBatch,
  deps: StreamBatchDeps,
  outcome: BatchOutcome,
  fail: FailRecorder,
  keyed: () => Promise<void>,
): Promise<void> {
  const storeChanges = oncePerPosition('chg', batch.changes, deps.ledger, (fresh) =>
    deps.changes.put(fresh.map((c) => c.change)),
  ).then(
    (stored) => {
      outcome.changes += stored.done;
      outcome.processed += stored.done;
      outcome.redelivered += stored.skipped;
    },
    (e) =>
      fail(
        batch.changes.map((c) => c.raw.position),
        e,
      ),
  );
  await Promise.all([
    oncePerPosition('dl', batch.invalid, deps.ledger, (fresh) =>
      deps.deadLetters.send(fresh.map((i) => toDeadLetter(i, deps.source))),
    ).then(
      (sent) => {
        outcome.deadLettered += sent.done;
        outcome.redelivered += sent.skipped;
      },
      (e) =>
        fail(
          batch.invalid.map((i) => i.raw.position),
          e,
        ),
    ),
    storeChanges.then(keyed),
  ]);
}

/** What to fold into one key's state, and the stream positions to report if its save fails. */
export interface KeyWork {
  fold(prev: KeyState | undefined): FoldResult;
  readonly positions: readonly StreamPosition[];
  /** A quiet fold (isQuietFold) is scored but not saved: the caller carries the key's window to its next write. */
  readonly deferrable?: boolean;
}

function workOfObservations(byKey: Map<string, Observation[]>, deps: StreamBatchDeps): Map<string, KeyWork> {
  const work = new Map<string, KeyWork>();
  for (const [key, observations] of byKey)
    work.set(key, {
      fold: (prev) => foldObservations(prev, observations, deps.settings),
      positions: observations.flatMap((o) => (o.position ? [o.position] : [])),
    });
  return work;
}

/**
 * Side effects of records that have no key state to remember them by (dead letters, change records)
 * are done once per stream position: Lambda redelivers the whole tail after a partial failure.
 * Positions are remembered per (shard, partition key), the unit Lambda keeps in order.
 */
async function oncePerPosition<T extends { raw: RawRecord }>(
  purpose: string,
  items: readonly T[],
  ledger: PositionLedger,
  effect: (fresh: T[]) => Promise<void>,
): Promise<{ done: number; skipped: number }> {
  if (!items.length) return { done: 0, skipped: 0 };
  const group = (i: T) => `${purpose}#${i.raw.position.shardId}#${i.raw.partitionKey}`;
  const last = await ledger.lastDone([...new Set(items.map(group))]);
  const fresh = items.filter((i) => {
    const seen = last.get(group(i));
    return seen === undefined || compareSequence(i.raw.position.sequenceNumber, seen) > 0;
  });
  if (fresh.length) {
    await effect(fresh);
    const newest = new Map<string, string>();
    for (const i of fresh) newest.set(group(i), i.raw.position.sequenceNumber);
    await ledger.markDone(newest);
  }
  return { done: fresh.length, skipped: items.length - fresh.length };
}

interface KeyResult {
  folded: FoldResult;
  events: EpisodeEvent[];
  /** Episode-trace points of this key's scored minutes (empty unless the key is in or just after an episode). */
  traces: TraceAppend[];
}

function foldAndDetect(current: StoredWindow | undefined, work: KeyWork, deps: StreamBatchDeps): KeyResult {
  const folded = work.fold(current?.state);
  if (!folded.windows.length) return { folded, events: [], traces: [] };
  const { state } = folded;
  const prev = { ...(state.trk && { trk: state.trk }), ...(state.trc && { trc: state.trc }) };
  const detected = scoreWindows(state, state, folded.windows, deps.detection);
  Object.assign(state, detected.detection);
  const plan = planEpisodeTrace({
    key: state.key,
    signal: state.signal,
    prev,
    minutes: detected.minutes,
    events: detected.events,
    // Buckets this batch's fold has already dropped are still in the loaded state.
    buckets: current ? [...current.state.buckets, ...state.buckets] : state.buckets,
  });
  if (plan.cursor) state.trc = plan.cursor;
  else delete state.trc;
  return { folded, events: detected.events, traces: plan.appends };
}

/**
 * Load, fold, detect and save each key once (re-read and re-fold on a version conflict), then do its
 * episode side effects. Shared by the per-batch path and the tumbling window's final invocation.
 * Returns the deferrable keys whose fold was quiet and was not saved.
 */
export async function detectAndSaveKeys(
  work: Map<string, KeyWork>,
  deps: StreamBatchDeps,
  outcome: BatchOutcome,
  fail: FailRecorder,
): Promise<Set<string>> {
  const deferred = new Set<string>();
  const keys = [...work.keys()];
  if (!keys.length) return deferred;
  outcome.keys += keys.length;
  const positionsOf = (key: string) => work.get(key)!.positions;
  let loaded: Map<string, StoredWindow>;
  try {
    loaded = await deps.windows.loadMany(keys);
  } catch (e) {
    fail(keys.flatMap(positionsOf), e);
    return deferred;
  }
  const firstPass = new Map(keys.map((k) => [k, foldAndDetect(loaded.get(k), work.get(k)!, deps)]));
  const openEpisodes = openEpisodesOf(firstPass);
  const retries = deps.maxConflictRetries ?? DEFAULT_CONFLICT_RETRIES;

  await forEachLimit(keys, deps.saveConcurrency ?? DEFAULT_SAVE_CONCURRENCY, async (key) => {
    const keyWork = work.get(key)!;
    let current = loaded.get(key);
    let result = firstPass.get(key)!;
    try {
      for (let attempt = 0; ; attempt++) {
        const { folded } = result;
        if (
          keyWork.deferrable &&
          folded.changed &&
          isQuietFold(current?.state, folded.state, result.events.length, result.traces.length)
        ) {
          // Counted now: the records are kept by the carry, which the caller saves before the window ends.
          countFold(outcome, folded.stats);
          outcome.deferred++;
          outcome.windows.push(...reported(folded));
          deferred.add(key);
          return;
        }
        // The state we read may carry side effects its writer saved but did not get to do (it
        // failed after the save): repeat them before this save drops them. Each is idempotent per
        // episode, so repeating what did happen changes nothing.
        if (current?.state.fx?.length)
          await applyEpisodeEvents(current.state.fx, current.state, openEpisodes, deps, outcome);
        // Trace points are written before the save: a redelivery skips what the saved state has
        // folded, so points written after it could never be written again if that failed. Appends
        // overwrite per minute, so writing them again (retry, conflict, redelivery) changes nothing.
        outcome.traceWrites += await appendTraces(result.traces, deps.traces);
        if (folded.changed) {
          if (result.events.length) folded.state.fx = result.events;
          const saved = await deps.windows.save(folded.state, current?.version);
          if (!saved.saved) {
            // Nothing has been announced for this fold yet: the re-fold decides afresh.
            outcome.conflicts++;
            if (attempt >= retries)
              throw new Error(`state for ${key} kept changing under us (${attempt + 1} conflicts)`);
            current = await deps.windows.load(key);
            result = foldAndDetect(current, keyWork, deps);
            continue;
          }
          outcome.stateWrites++;
          outcome.writeUnits += saved.writeUnits;
        }
        // The records are accounted for once their state is saved: a redelivery after a failed side effect
        // finds them folded (redelivered), and the saved `fx` repeats the side effects.
        countFold(outcome, folded.stats);
        // Alerts, anomaly records and workflow starts follow the saved state, so they describe the
        // episode that was kept. If one fails, the key's records are redelivered and the saved `fx`
        // makes the next invocation do them.
        await applyEpisodeEvents(result.events, folded.state, openEpisodes, deps, outcome);
        outcome.windows.push(...reported(folded));
        return;
      }
    } catch (e) {
      fail(positionsOf(key), e);
    }
  });
  return deferred;
}

/** The fold's windows not reported before (a carried window's were, when it was first scored). */
function reported(folded: FoldResult): WindowResult[] {
  return folded.repeated ? folded.windows.slice(folded.repeated) : folded.windows;
}

function countFold(outcome: BatchOutcome, s: FoldStats): void {
  outcome.processed += s.folded + s.late + s.duplicate;
  outcome.late += s.late;
  outcome.duplicate += s.duplicate;
  outcome.redelivered += s.redelivered;
}

interface OpenEpisodes {
  /** Tenants with an open episode, per signal: is it one tenant or the platform? */
  tenantsBySignal: Map<string, Set<string>>;
  /** Signals with an open episode, per tenant: what else is moving for this tenant? */
  signalsByTenant: Map<string, Set<string>>;
}

/** The classifier's cross-key evidence, from the keys of this batch. */
function openEpisodesOf(results: Map<string, KeyResult>): OpenEpisodes {
  const open: OpenEpisodes = { tenantsBySignal: new Map(), signalsByTenant: new Map() };
  const add = (m: Map<string, Set<string>>, k: string, v: string) => m.set(k, (m.get(k) ?? new Set()).add(v));
  for (const { folded, events } of results.values()) {
    if (folded.state.trk?.episode === undefined && !events.some((e) => e.kind === 'confirmed')) continue;
    add(open.tenantsBySignal, folded.state.signal, folded.state.tenant);
    add(open.signalsByTenant, folded.state.tenant, folded.state.signal);
  }
  return open;
}

async function applyEpisodeEvents(
  events: readonly EpisodeEvent[],
  state: FoldResult['state'],
  open: OpenEpisodes,
  deps: StreamBatchDeps,
  outcome: BatchOutcome,
): Promise<void> {
  for (const event of events) {
    if (event.kind === 'recovered') {
      if (event.episode.confirmedAt === undefined) {
        outcome.blips++;
        continue;
      }
      outcome.recovered++;
      await deps.anomalies.markRecovered(
        { id: event.episode.id, start: event.episode.start, key: state.key },
        event.at,
      );
      continue;
    }
    const start = event.episode.start;
    const [changes, whitelisted] = await Promise.all([
      deps.changes.startedBetween(state.tenant, start - CHANGE_LOOKBACK_MS, start + CORRELATION_WINDOW_MS),
      deps.changes.whitelisted(state.tenant, start),
    ]);
    const context: Parameters<typeof describeAnomaly>[4] = {
      changes,
      whitelisted,
      tenantsAffected: open.tenantsBySignal.get(state.signal)?.size ?? 1,
      concurrentSignals: [...(open.signalsByTenant.get(state.tenant) ?? [])].filter((s) => s !== state.signal),
    };
    if (state.region !== undefined) context.region = state.region;
    // Every region of the episode, not the last record's: the cross-region guardrail decides on these.
    const regions = episodeRegions(state, start);
    if (regions.length) context.regions = regions;
    // Operator feedback (lambdas/core/feedback.ts): read only for an anomaly about to page below 0.95.
    const described = await withFeedback(describeAnomaly(event, state.key, state.tenant, state.signal, context), deps);
    // Suppressed anomalies page nobody: they neither found nor join an incident (it would never page).
    described.incident =
      deps.incidents && described.decision !== 'suppressed'
        ? (
            await deps.incidents.join(
              { ...memberOf(described), family: signalFamily(described.signal) },
              deps.incidentWindowMs ?? DEFAULT_INCIDENT_WINDOW_MS,
            )
          ).id
        : incidentIdOf(described.id);
    // When the episode was stored before (a repeat), its first decision (and incident) stands.
    const { notify, stored: anomaly } = await deps.anomalies.open(described);
    const grouped = deps.incidents && anomaly.decision !== 'suppressed' ? deps.incidents : undefined;
    if (notify) {
      outcome.anomalies.push(anomaly);
      if (anomaly.decision !== 'suppressed') {
        if (!grouped || anomaly.incident === undefined) {
          await deps.notifier.publish(alertMessage(anomaly), anomaly.id);
          outcome.alerts++;
        } else if (await grouped.claim(anomaly.incident, 'page', anomaly.id)) {
          // The incident's one page, naming every tenant and signal known now.
          await deps.notifier.publish(incidentPage(anomaly, await grouped.get(anomaly.incident)), anomaly.id);
          outcome.alerts++;
        } else {
          await deps.notifier.publish(incidentUpdate(anomaly, await grouped.get(anomaly.incident)), anomaly.id);
          outcome.incidentUpdates++;
        }
      }
      await deps.anomalies.markNotified(anomaly, (deps.now ?? Date.now)());
    }
    // Also when the alert went out on an earlier delivery: the start is idempotent per episode, and
    // a start that failed then must happen now. One execution per incident and scope: the claimant
    // starts it (again on its retries); the incident's other `mitigate` members join it.
    if (anomaly.decision === 'mitigate' && deps.mitigations) {
      if (
        grouped &&
        anomaly.incident !== undefined &&
        !(await grouped.claim(anomaly.incident, `mitigation#${mitigationScope(anomaly)}`, anomaly.id))
      ) {
        if (notify) outcome.mitigationsJoined++;
        continue;
      }
      const { started } = await deps.mitigations.start(anomaly);
      if (started) outcome.mitigationsStarted++;
    }
  }
}

async function appendTraces(appends: readonly TraceAppend[], store: EpisodeTraceStore | undefined): Promise<number> {
  if (!store || !appends.length) return 0;
  await Promise.all(appends.map((a) => store.append(a.episodeId, a.points)));
  return appends.reduce((n, a) => n + a.points.length, 0);
}

/** The paging decision with the key's recent verdicts applied; the verdicts are read only when they could matter. */
async function withFeedback(anomaly: Anomaly, deps: StreamBatchDeps): Promise<Anomaly> {
  if (!deps.feedback || !feedbackMayHoldBack(anomaly)) return anomaly;
  // Verdicts carry when they were given (processing time): the window is on that clock.
  const at = (deps.now ?? Date.now)();
  return applyFeedback(anomaly, await deps.feedback.givenBetween(anomaly.key, at - FEEDBACK_RULE.windowMs, at), at);
}
