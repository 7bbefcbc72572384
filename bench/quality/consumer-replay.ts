/**
 * The scenario replay: envelopes (in memory) through the consumer's own batch path
 * (`processStreamBatch` with the in-memory stores of `local/replay-envelopes.ts`), exactly as
 * `replayEnvelopes` does — same batch size, positions and arrival guard — plus a recording
 * `MitigationStarter`, so every execution the consumer would start is kept with its input (the
 * full `Anomaly`, band and `softOnly` included, which alerts.jsonl does not carry). Change windows
 * declared through the operator route (the scenario's platform-wide maintenance) are stored in the
 * same change store when the replay reaches their declaration time, interleaved with the lines.
 *
 * `test/e2e/scenario-quality.test.ts` checks that the alert lines are byte-identical to
 * `replayEnvelopes`' alerts.jsonl.
 */
import { alertLogLine, type Anomaly } from '../../lambdas/core/anomaly.js';
import type { RawRecord } from '../../lambdas/core/batch.js';
import type { BatchOutcome } from '../../lambdas/usecases/stream-batch.js';
import { processWindowedBatch } from '../../lambdas/usecases/windowed-batch.js';
import type { DetectionSettings } from '../../lambdas/core/score-windows.js';
import { DEFAULT_WINDOW_SETTINGS, type WindowSettings } from '../../lambdas/core/window-settings.js';
import { InMemoryChangeStore } from '../../lambdas/adapters/in-memory/change-store.js';
import type { DeadLetter } from '../../lambdas/core/ports/dead-letter-sink.js';
import { executionName } from '../../lambdas/adapters/mitigation-starter.js';
import type { MitigationStarter } from '../../lambdas/core/ports/mitigation-starter.js';
import {
  emptyReplayResult,
  inMemoryConsumerDeps,
  operatorChangeSchedule,
  replayBatcher,
  type ReplayEnvelopesResult,
  type TimedOperatorChange,
} from '../../local/replay-envelopes.js';

/** What the consumer's trigger rules started: the execution input's anomaly, once per episode. */
export interface StartedMitigation {
  execution: string;
  anomaly: Anomaly;
}

export interface ConsumerReplay {
  result: ReplayEnvelopesResult;
  /** alerts.jsonl, line by line (one per confirmed episode, suppressed ones included). */
  alertLines: string[];
  deadLetters: DeadLetter[];
  mitigations: StartedMitigation[];
  /** The change records the consumer and the operator route stored (what the workflow's Plan task reads). */
  changes: InMemoryChangeStore;
}

/** Records one execution per episode, like Step Functions with the deterministic execution name. */
class RecordingStarter implements MitigationStarter {
  readonly started: StartedMitigation[] = [];
  private readonly names = new Set<string>();
  async start(anomaly: Anomaly): Promise<{ execution: string; started: boolean }> {
    const execution = executionName(anomaly);
    if (this.names.has(execution)) return { execution, started: false };
    this.names.add(execution);
    this.started.push({ execution, anomaly: structuredClone(anomaly) });
    return { execution, started: true };
  }
}

export interface ReplayLinesOptions {
  settings?: WindowSettings;
  detection?: DetectionSettings;
  batchSize?: number;
  /**
   * Declared through the operator route (POST /v1/anomaly/changes): stored when the replay reaches `at`, not streamed.
   */
  operatorChanges?: readonly TimedOperatorChange[];
}

/**
 * The consumer's in-memory dependencies for one replay, keeping what it dead-letters, the executions it starts and
 * the change records it stores.
 */
function recordingDeps(opts: ReplayLinesOptions) {
  const deadLetters: DeadLetter[] = [];
  const starter = new RecordingStarter();
  const changes = new InMemoryChangeStore();
  const deps = inMemoryConsumerDeps({
    changes,
    deadLetters: { send: async (l: readonly DeadLetter[]) => void deadLetters.push(...l) },
    mitigations: starter,
    settings: opts.settings ?? DEFAULT_WINDOW_SETTINGS,
    source: 'replay',
    ...(opts.detection && { detection: opts.detection }),
  });
  return { deps, deadLetters, starter, changes };
}

export async function replayLines(lines: readonly string[], opts: ReplayLinesOptions = {}): Promise<ConsumerReplay> {
  const started = performance.now();
  const { deps, deadLetters, starter, changes } = recordingDeps(opts);
  const replay = replayBatcher(deps, {
    ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }),
    ...(opts.operatorChanges && { operatorChanges: opts.operatorChanges, operatorStore: changes }),
  });
  for (const line of lines) await replay.push(line);
  const result = await replay.end();
  result.ms = performance.now() - started;
  const { alertLines } = replay;
  return { result, alertLines, deadLetters, mitigations: starter.started, changes };
}

const TS_ISO = /"ts":"([^"]+)"/;
const TS_EPOCH = /"ts":(\d{12,14})\b/;
const CHANGE_LINE = /"type":"change"/;
const WINDOW_MS = 60_000;
/** A record more than this ahead of the arrival clock is a skewed producer clock: it does not move the clock. */
const MAX_ARRIVAL_JUMP_MS = 5 * 60_000;

/**
 * The same replay through the deployed default's path: 60-second tumbling windows (processWindowedBatch),
 * cut on an arrival clock made from the records' event times (recorded data has no arrival stamps: the clock
 * is the newest event time seen, not moved by a record more than 5 minutes ahead of it), batches of
 * `batchSize` within a window, then the window's final invocation. Alert lines as replayLines writes them.
 */
export async function replayLinesWindowed(
  lines: readonly string[],
  opts: ReplayLinesOptions = {},
): Promise<ConsumerReplay> {
  const started = performance.now();
  const { deps, deadLetters, starter, changes } = recordingDeps(opts);
  const batchSize = opts.batchSize ?? 1000;
  const result = emptyReplayResult();
  const keys = new Set<string>();
  const alertLines: string[] = [];
  const operator = operatorChangeSchedule(opts.operatorChanges, changes);
  let batch: RawRecord[] = [];
  let state: unknown = {};
  let window: number | undefined;
  let clock = Number.NEGATIVE_INFINITY;
  const take = (o: BatchOutcome) => {
    if (o.failed.length) throw new Error(`windowed replay: ${o.failed.length} records failed: ${o.failed[0]!.error}`);
    result.processed += o.processed;
    result.deadLettered += o.deadLettered;
    result.alerts += o.alerts;
    result.anomalies += o.anomalies.length;
    for (const a of o.anomalies) alertLines.push(JSON.stringify(alertLogLine(a)));
    for (const w of o.windows) keys.add(w.key);
  };
  const invoke = async () => {
    if (!batch.length) return;
    const r = await processWindowedBatch(batch, { state, final: false, terminatedEarly: false }, deps);
    take(r.outcome);
    state = JSON.parse(JSON.stringify(r.state));
    batch = [];
  };
  const close = async () => {
    await invoke();
    const r = await processWindowedBatch([], { state, final: true, terminatedEarly: false }, deps);
    if (r.finalFailed) throw new Error('windowed replay: a final invocation failed');
    take(r.outcome);
    state = {};
  };
  for (const line of lines) {
    if (!line.trim()) continue;
    const iso = TS_ISO.exec(line);
    const epoch = iso ? undefined : TS_EPOCH.exec(line);
    const ts = iso ? Date.parse(iso[1]!) : epoch ? Number(epoch[1]) : Number.NaN;
    const isChange = CHANGE_LINE.test(line);
    if (operator.pending() && !isChange && iso && Number.isFinite(ts)) await operator.declareUpTo(ts);
    if (!isChange && Number.isFinite(ts) && (clock === Number.NEGATIVE_INFINITY || ts - clock <= MAX_ARRIVAL_JUMP_MS))
      clock = Math.max(clock, ts);
    const w = Number.isFinite(clock) ? Math.floor(clock / WINDOW_MS) : 0;
    if (window !== undefined && w !== window) await close();
    window = w;
    result.records++;
    batch.push({
      data: Buffer.from(line),
      partitionKey: 'replay',
      arrivedAt: Number.POSITIVE_INFINITY,
      position: { shardId: 'shardId-replay', sequenceNumber: String(result.records) },
    });
    if (batch.length >= batchSize) await invoke();
  }
  await operator.declareUpTo(Number.POSITIVE_INFINITY);
  await close();
  result.keys = keys.size;
  result.ms = performance.now() - started;
  return { result, alertLines, deadLetters, mitigations: starter.started, changes };
}
