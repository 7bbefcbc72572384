import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { alertLogLine, type Anomaly } from '../lambdas/core/anomaly.js';
import { precisionByTenantSignal, VERDICTS, type PrecisionRow, type Verdict } from '../lambdas/core/feedback.js';
import type { RawRecord } from '../lambdas/core/batch.js';
import type { DetectionSettings } from '../lambdas/core/score-windows.js';
import { DEFAULT_WINDOW_SETTINGS, type WindowSettings } from '../lambdas/core/window-settings.js';
import { InMemoryAnomalyStore } from '../lambdas/adapters/in-memory/anomaly-store.js';
import { InMemoryIncidentStore } from '../lambdas/adapters/in-memory/incident-store.js';
import { InMemoryChangeStore } from '../lambdas/adapters/in-memory/change-store.js';
import type { OperatorChange, OperatorChangeStore } from '../lambdas/core/ports/change-store.js';
import type { DeadLetter } from '../lambdas/core/ports/dead-letter-sink.js';
import { InMemoryEpisodeTraceStore } from '../lambdas/adapters/in-memory/episode-trace-store.js';
import { InMemoryPositionLedger } from '../lambdas/adapters/in-memory/position-ledger.js';
import { InMemoryWindowStore } from '../lambdas/adapters/in-memory/window-store.js';
import { processStreamBatch, type StreamBatchDeps } from '../lambdas/usecases/stream-batch.js';
import { z } from 'zod';

export interface ReplayEnvelopesOptions {
  /**
   * A file of envelopes or a directory tree of them, read in path order (archive keys sort by time):
   * JSON lines, or raw-archive objects (gzip or not, newline-delimited or concatenated JSON).
   */
  input: string;
  out: string;
  settings?: WindowSettings;
  detection?: DetectionSettings;
  /** Records per simulated consumer batch. */
  batchSize?: number;
  onProgress?: (records: number) => void;
  /**
   * Change windows declared through the operator route (POST /v1/anomaly/changes) while the
   * recorded stream ran: each is stored in the change store when the replay reaches `at` (see
   * `replayBatcher`). Not part of the recorded stream; the CLI replays none.
   */
  operatorChanges?: readonly TimedOperatorChange[];
}

/** An operator change and when it was declared (ms, on the records' event-time axis). */
export interface TimedOperatorChange {
  at: number;
  change: OperatorChange;
}

export interface ReplayEnvelopesResult {
  /** Records fed to the consumer (verdict lines are not records). */
  records: number;
  /** Verdict lines read (`{"verdict","key"}`, replay-only). */
  verdicts: number;
  /** Precision per tenant and signal, when the input carried verdicts (also written to precision.json). */
  precision?: { byTenantSignal: PrecisionRow[]; verdicts: number; unmatched: string[] };
  processed: number;
  deadLettered: number;
  anomalies: number;
  alerts: number;
  keys: number;
  ms: number;
}

const REPLAY_SHARD = 'shardId-replay';

/**
 * The consumer's batch path with every store in memory (replay, backtests, benchmarks); alerts go
 * nowhere unless overridden.
 */
export function inMemoryConsumerDeps(overrides: Partial<StreamBatchDeps> = {}): StreamBatchDeps {
  return {
    windows: new InMemoryWindowStore(),
    changes: new InMemoryChangeStore(),
    anomalies: new InMemoryAnomalyStore(),
    incidents: new InMemoryIncidentStore(),
    notifier: { publish: async () => {} },
    deadLetters: { send: async () => {} },
    traces: new InMemoryEpisodeTraceStore(),
    ledger: new InMemoryPositionLedger(),
    settings: DEFAULT_WINDOW_SETTINGS,
    source: 'replay',
    ...overrides,
  };
}

const TS_FIELD = /"ts":"([^"]+)"/;
const CHANGE_TYPE = /"type":"change"/;

/**
 * Feeds recorded envelope lines to the consumer's batch path in stream order, `batchSize` at a time,
 * and tallies what it decided: the shared loop of `replayEnvelopes` and the bench's scenario replay.
 *
 * Operator changes (`operatorChanges`, written to `operatorStore`) are interleaved by time: each is
 * stored just before the first observation line whose event time reaches its `at`, as the operator
 * route writes the change store while the consumer reads the stream (the batch then pending sees
 * it); those declared after the last line are stored at the end.
 */
export function replayBatcher(
  deps: StreamBatchDeps,
  opts: {
    batchSize?: number;
    onProgress?: (records: number) => void;
    operatorChanges?: readonly TimedOperatorChange[];
    operatorStore?: Pick<OperatorChangeStore, 'putOperatorChange'>;
  } = {},
) {
  const result = emptyReplayResult();
  const keys = new Set<string>();
  const alertLines: string[] = [];
  const episodes: Pick<Anomaly, 'id' | 'tenant' | 'signal' | 'decision'>[] = [];
  const verdicts: ReplayVerdict[] = [];
  let batch: RawRecord[] = [];
  const operator = operatorChangeSchedule(opts.operatorChanges, opts.operatorStore);
  const flush = async () => {
    if (!batch.length) return;
    const outcome = await processStreamBatch(batch, deps);
    if (outcome.failed.length)
      throw new Error(`replay could not fold ${outcome.failed.length} records: ${outcome.failed[0]!.error}`);
    result.processed += outcome.processed;
    result.deadLettered += outcome.deadLettered;
    result.alerts += outcome.alerts;
    for (const a of outcome.anomalies) {
      alertLines.push(JSON.stringify(alertLogLine(a)));
      episodes.push({ id: a.id, tenant: a.tenant, signal: a.signal, decision: a.decision });
    }
    result.anomalies += outcome.anomalies.length;
    for (const w of outcome.windows) keys.add(w.key);
    batch = [];
    opts.onProgress?.(result.records);
  };
  return {
    result,
    alertLines,
    /** Each verdict line's anomaly key and verdict, in input order (the last one per key counts). */
    verdicts,
    /** Precision per tenant and signal over the episodes paged so far; undefined without verdict lines. */
    precision() {
      return verdicts.length ? precisionByTenantSignal(episodes, verdicts) : undefined;
    },
    async push(line: string): Promise<void> {
      if (!line.trim()) return;
      const verdict = verdictLine(line);
      if (verdict) {
        verdicts.push(verdict);
        result.verdicts++;
        return;
      }
      // Change records name when their window starts, not when they were sent: observations keep the clock.
      if (operator.pending() && !CHANGE_TYPE.test(line)) {
        const ts = TS_FIELD.exec(line);
        const t = ts ? Date.parse(ts[1]!) : Number.NaN;
        if (Number.isFinite(t)) await operator.declareUpTo(t);
      }
      result.records++;
      // Recorded data has no arrival time: the clock-skew guard cannot apply.
      batch.push({
        data: Buffer.from(line),
        partitionKey: 'replay',
        arrivedAt: Number.POSITIVE_INFINITY,
        position: { shardId: REPLAY_SHARD, sequenceNumber: String(result.records) },
      });
      if (batch.length >= (opts.batchSize ?? 1000)) await flush();
    },
    async end(): Promise<ReplayEnvelopesResult> {
      await operator.declareUpTo(Number.POSITIVE_INFINITY);
      await flush();
      result.keys = keys.size;
      return result;
    },
  };
}

/** A replay's tally before its first record. */
export function emptyReplayResult(): ReplayEnvelopesResult {
  return { records: 0, verdicts: 0, processed: 0, deadLettered: 0, anomalies: 0, alerts: 0, keys: 0, ms: 0 };
}

/**
 * The operator changes a replay interleaves, in time order: `declareUpTo(t)` writes to `store` each one declared
 * at or before `t` and not yet written; `pending()` counts those still waiting.
 */
export function operatorChangeSchedule(
  changes: readonly TimedOperatorChange[] = [],
  store?: Pick<OperatorChangeStore, 'putOperatorChange'>,
) {
  const pending = [...changes].sort((a, b) => a.at - b.at);
  if (pending.length && !store) throw new Error('replay: operator changes need an operator change store');
  return {
    pending: () => pending.length,
    async declareUpTo(t: number): Promise<void> {
      while (pending.length && pending[0]!.at <= t) {
        const { change } = pending.shift()!;
        const out = await store!.putOperatorChange(change);
        if (out.outcome === 'conflict')
          throw new Error(`replay: operator change ${change.id} conflicts with one stored before`);
      }
    },
  };
}

/** A verdict line of a replay input (replay only: the stream consumer dead-letters it as a bad envelope). */
export interface ReplayVerdict {
  key: string;
  verdict: Verdict;
}

const VerdictLine = z.strictObject({
  verdict: z.enum(VERDICTS),
  key: z.string().min(1).max(300),
  note: z.string().max(1000).optional(),
});

/**
 * `{"verdict":"false_positive","key":"<anomaly key>"}` (optionally with `note`): an operator's verdict
 * on an episode the replay pages, for precision.json. A JSON object with a `verdict` and no envelope
 * `type` is a verdict line; a malformed one stops the replay, naming the field.
 */
export function verdictLine(line: string): ReplayVerdict | undefined {
  if (!line.includes('"verdict"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (!('verdict' in value) || 'type' in value) return undefined;
  const parsed = VerdictLine.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`verdict line ${line.slice(0, 200)}: ${issue.path.join('.') || 'line'}: ${issue.message}`);
  }
  return { key: parsed.data.key, verdict: parsed.data.verdict };
}

/**
 * Runs recorded envelopes through the consumer's own batch path (decode, fold, detect, correlate,
 * classify, decide) with in-memory state, in stream order and as fast as the machine allows.
 * Writes `alerts.jsonl` (one line per confirmed episode, suppressed ones included),
 * `dead-letters.jsonl` and, when the input carries verdict lines (see {@link verdictLine}),
 * `precision.json` (`{byTenantSignal: [{tenant, signal, alerts, truePositive, falsePositive, expected,
 * precision}], verdicts, unmatched}`).
 */
export async function replayEnvelopes(opts: ReplayEnvelopesOptions): Promise<ReplayEnvelopesResult> {
  const started = performance.now();
  await mkdir(opts.out, { recursive: true });
  const deadLetters: DeadLetter[] = [];
  const changes = new InMemoryChangeStore();
  const deps = inMemoryConsumerDeps({
    changes,
    deadLetters: { send: async (l: readonly DeadLetter[]) => void deadLetters.push(...l) },
    settings: opts.settings ?? DEFAULT_WINDOW_SETTINGS,
    source: 'replay',
    ...(opts.detection && { detection: opts.detection }),
  });
  const replay = replayBatcher(deps, {
    ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }),
    ...(opts.onProgress && { onProgress: opts.onProgress }),
    ...(opts.operatorChanges && { operatorChanges: opts.operatorChanges, operatorStore: changes }),
  });
  for (const file of await inputFiles(opts.input)) {
    try {
      for await (const line of createInterface({
        input: await openRecords(file),
        crlfDelay: Number.POSITIVE_INFINITY,
      })) {
        for (const record of splitRecords(line)) await replay.push(record);
      }
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  }
  const result = await replay.end();
  const lines = replay.alertLines;
  await writeFile(join(opts.out, 'alerts.jsonl'), lines.length ? `${lines.join('\n')}\n` : '');
  await writeFile(join(opts.out, 'dead-letters.jsonl'), deadLetters.map((l) => `${JSON.stringify(l)}\n`).join(''));
  // Only when the input carried verdicts: precision per tenant and signal of the episodes that paged.
  const precision = replay.precision();
  if (precision) {
    result.precision = precision;
    await writeFile(join(opts.out, 'precision.json'), `${JSON.stringify(precision, null, 2)}\n`);
  }
  result.ms = performance.now() - started;
  return result;
}

/** Files of a directory tree that can hold records: JSON lines, gzip, and Firehose's extensionless objects. */
const RECORD_FILE = /(\.jsonl|\.ndjson|\.json|\.gz|^[^.]+)$/;

async function inputFiles(input: string): Promise<string[]> {
  if (!(await stat(input)).isDirectory()) return [input];
  const files: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) await walk(join(dir, entry.name), `${rel}${entry.name}/`);
      else if (RECORD_FILE.test(entry.name)) files.push(`${rel}${entry.name}`);
    }
  };
  await walk(input, '');
  if (!files.length) throw new Error(`${input} holds no .jsonl, .json or .gz files`);
  // Key order: Firehose names objects by the time of their oldest record.
  return files.sort().map((f) => join(input, f));
}

/** The file's text, gunzipped when it starts with the gzip magic bytes (whatever its name). */
async function openRecords(file: string): Promise<Readable> {
  const handle = await open(file, 'r');
  const head = Buffer.alloc(2);
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const raw = createReadStream(file);
  if (head[0] !== 0x1f || head[1] !== 0x8b) return raw.setEncoding('utf8');
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip).setEncoding('utf8');
}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The records of one line: a newline always ends a record (the delimiter processor's format and JSON
 * lines), and within a line concatenated JSON values (`{...}{...}`, Firehose without the delimiter) are
 * split where their brackets close, outside strings. Text that is not a JSON value, up to the next `{`
 * or the end of the line, is passed on as a record of its own so the consumer dead-letters it with the
 * reason; an unclosed value runs to the end of the line.
 */
export function splitRecords(line: string): string[] {
  const records: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    const first = line.charCodeAt(i);
    if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
      let depth = 0;
      let inString = false;
      for (; i < n; i++) {
        const c = line.charCodeAt(i);
        if (inString) {
          if (c === BACKSLASH) i++;
          else if (c === QUOTE) inString = false;
        } else if (c === QUOTE) inString = true;
        else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
        else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) {
          i++;
          break;
        }
      }
      records.push(line.slice(start, i));
    } else {
      i = line.indexOf('{', i + 1);
      if (i < 0) i = n;
      records.push(line.slice(start, i).trimEnd());
    }
  }
  return records;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0xfeff;
}
