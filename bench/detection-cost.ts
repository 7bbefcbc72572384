/**
 * What detection adds to the consumer: the full in-memory batch path (decode, fold, detect,
 * trigger rules) against the same path without detection and the bare decode loop, per record;
 * and CSV replay throughput on the labelled dev set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KinesisStreamEvent } from 'aws-lambda';
import { decodeBatch } from '../lambdas/core/batch.js';
import { foldObservations, type KeyState } from '../lambdas/core/key-state.js';
import { DEFAULT_WINDOW_SETTINGS } from '../lambdas/core/window-settings.js';
import { processStreamBatch } from '../lambdas/usecases/stream-batch.js';
import { toRawRecord } from '../lambdas/handlers/stream-consumer.js';
import { replayCsv } from '../local/replay-csv.js';
import { inMemoryConsumerDeps } from '../local/replay-envelopes.js';
import { DEFAULT_WORKLOAD, ShardWorkload, median } from './workload.js';

export interface DetectionCostResult {
  records: number;
  windowsPerBatch: number;
  bareMsPerBatch: number;
  foldMsPerBatch: number;
  fullMsPerBatch: number;
  /** (full − fold) per record, as a ratio to the bare decode loop per record. */
  detectionCostRatio: number;
  devSet?: { rows: number; files: number; ms: number; pointsPerSec: number };
}

function bare(event: KinesisStreamEvent): number {
  let sink = 0;
  for (const r of event.Records)
    sink += (JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { v: number }).v;
  return sink;
}

export async function benchDetectionCost(
  opts: { warmupBatches?: number; rounds?: number; devSet?: string } = {},
): Promise<DetectionCostResult> {
  const workload = new ShardWorkload(DEFAULT_WORKLOAD);
  const deps = inMemoryConsumerDeps({ source: 'bench' });
  const folds = new Map<string, KeyState>();
  // Warm every key's detector past its warm-up (3 scored minutes per key per batch).
  for (let i = 0; i < (opts.warmupBatches ?? 40); i++) {
    const event = workload.nextEvent();
    await processStreamBatch(event.Records.map(toRawRecord), deps);
  }
  const bareMs: number[] = [];
  const foldMs: number[] = [];
  const fullMs: number[] = [];
  let windows = 0;
  for (let i = 0; i < (opts.rounds ?? 15); i++) {
    const event = workload.nextEvent();
    let t = performance.now();
    bare(event);
    bareMs.push(performance.now() - t);
    t = performance.now();
    for (const [key, obs] of decodeBatch(event.Records.map(toRawRecord)).byKey)
      folds.set(key, foldObservations(folds.get(key), obs, DEFAULT_WINDOW_SETTINGS).state);
    foldMs.push(performance.now() - t);
    t = performance.now();
    const outcome = await processStreamBatch(event.Records.map(toRawRecord), deps);
    fullMs.push(performance.now() - t);
    windows = outcome.windows.length;
  }
  const records = DEFAULT_WORKLOAD.records;
  const result: DetectionCostResult = {
    records,
    windowsPerBatch: windows,
    bareMsPerBatch: median(bareMs),
    foldMsPerBatch: median(foldMs),
    fullMsPerBatch: median(fullMs),
    detectionCostRatio: (median(fullMs) - median(foldMs)) / median(bareMs),
  };
  if (opts.devSet) {
    const out = mkdtempSync(join(tmpdir(), 'ag-bench-replay-'));
    try {
      const r = await replayCsv({ input: opts.devSet, out });
      result.devSet = { rows: r.rows, files: r.files, ms: r.ms, pointsPerSec: r.rows / (r.ms / 1000) };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  return result;
}
