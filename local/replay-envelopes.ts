import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { alertLogLine } from '../lambdas/core/anomaly.js';
import type { RawRecord } from '../lambdas/core/batch.js';
import type { DetectionSettings } from '../lambdas/core/detect.js';
import { DEFAULT_WINDOW_SETTINGS, type WindowSettings } from '../lambdas/core/window-settings.js';
import { InMemoryAnomalyStore } from '../lambdas/adapters/anomaly-store.js';
import { InMemoryChangeStore } from '../lambdas/adapters/change-store.js';
import type { DeadLetter } from '../lambdas/adapters/dead-letter.js';
import { InMemoryEpisodeTraceStore } from '../lambdas/adapters/episode-trace-store.js';
import { InMemoryPositionLedger } from '../lambdas/adapters/position-ledger.js';
import { InMemoryWindowStore } from '../lambdas/adapters/window-store.js';
import { processStreamBatch, type StreamBatchDeps } from '../lambdas/handlers/stream-batch.js';

export interface ReplayEnvelopesOptions {
  /** A JSONL file of envelopes, or a directory of them (read in name order). */
  input: string;
  out: string;
  settings?: WindowSettings;
  detection?: DetectionSettings;
  /** Records per simulated consumer batch. */
  batchSize?: number;
  onProgress?: (records: number) => void;
}

export interface ReplayEnvelopesResult {
  records: number;
  processed: number;
  deadLettered: number;
  anomalies: number;
  alerts: number;
  keys: number;
  ms: number;
}

const REPLAY_SHARD = 'shardId-replay';

/** The consumer's batch path with every store in memory (replay, backtests, benchmarks); alerts go nowhere unless overridden. */
export function inMemoryConsumerDeps(overrides: Partial<StreamBatchDeps> = {}): StreamBatchDeps {
  return {
    windows: new InMemoryWindowStore(),
    changes: new InMemoryChangeStore(),
    anomalies: new InMemoryAnomalyStore(),
    notifier: { publish: async () => {} },
    deadLetters: { send: async () => {} },
    traces: new InMemoryEpisodeTraceStore(),
    ledger: new InMemoryPositionLedger(),
    settings: DEFAULT_WINDOW_SETTINGS,
    source: 'replay',
    ...overrides,
  };
}

/**
 * Feeds recorded envelope lines to the consumer's batch path in stream order, `batchSize` at a time,
 * and tallies what it decided: the shared loop of `replayEnvelopes` and the bench's scenario replay.
 */
export function replayBatcher(deps: StreamBatchDeps, opts: { batchSize?: number; onProgress?: (records: number) => void } = {}) {
  const result: ReplayEnvelopesResult = { records: 0, processed: 0, deadLettered: 0, anomalies: 0, alerts: 0, keys: 0, ms: 0 };
  const keys = new Set<string>();
  const alertLines: string[] = [];
  let batch: RawRecord[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const outcome = await processStreamBatch(batch, deps);
    if (outcome.failed.length) throw new Error(`replay could not fold ${outcome.failed.length} records: ${outcome.failed[0]!.error}`);
    result.processed += outcome.processed;
    result.deadLettered += outcome.deadLettered;
    result.alerts += outcome.alerts;
    for (const a of outcome.anomalies) alertLines.push(JSON.stringify(alertLogLine(a)));
    result.anomalies += outcome.anomalies.length;
    for (const w of outcome.windows) keys.add(w.key);
    batch = [];
    opts.onProgress?.(result.records);
  };
  return {
    result,
    alertLines,
    async push(line: string): Promise<void> {
      if (!line.trim()) return;
      result.records++;
      // Recorded data has no arrival time: the clock-skew guard cannot apply.
      batch.push({ data: Buffer.from(line), partitionKey: 'replay', arrivedAt: Number.POSITIVE_INFINITY, position: { shardId: REPLAY_SHARD, sequenceNumber: String(result.records) } });
      if (batch.length >= (opts.batchSize ?? 1000)) await flush();
    },
    async end(): Promise<ReplayEnvelopesResult> {
      await flush();
      result.keys = keys.size;
      return result;
    },
  };
}

/**
 * Runs recorded envelopes through the consumer's own batch path (decode, fold, detect, correlate,
 * classify, decide) with in-memory state, in stream order and as fast as the machine allows.
 * Writes `alerts.jsonl` (one line per confirmed episode, suppressed ones included) and
 * `dead-letters.jsonl`.
 */
export async function replayEnvelopes(opts: ReplayEnvelopesOptions): Promise<ReplayEnvelopesResult> {
  const started = performance.now();
  await mkdir(opts.out, { recursive: true });
  const deadLetters: DeadLetter[] = [];
  const deps = inMemoryConsumerDeps({
    deadLetters: { send: async (l: readonly DeadLetter[]) => void deadLetters.push(...l) },
    settings: opts.settings ?? DEFAULT_WINDOW_SETTINGS,
    source: 'replay',
    ...(opts.detection && { detection: opts.detection }),
  });
  const replay = replayBatcher(deps, { ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }), ...(opts.onProgress && { onProgress: opts.onProgress }) });
  for (const file of await inputFiles(opts.input)) {
    for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY })) await replay.push(line);
  }
  const result = await replay.end();
  const lines = replay.alertLines;
  await writeFile(join(opts.out, 'alerts.jsonl'), lines.length ? `${lines.join('\n')}\n` : '');
  await writeFile(join(opts.out, 'dead-letters.jsonl'), deadLetters.map((l) => `${JSON.stringify(l)}\n`).join(''));
  result.ms = performance.now() - started;
  return result;
}

async function inputFiles(input: string): Promise<string[]> {
  if (!(await stat(input)).isDirectory()) return [input];
  const names = (await readdir(input)).filter((n) => n.endsWith('.jsonl') || n.endsWith('.json')).sort();
  if (!names.length) throw new Error(`${input} holds no .jsonl files`);
  return names.map((n) => join(input, n));
}
