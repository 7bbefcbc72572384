/**
 * Consumer core throughput on one core: how close the pure decode → validate → fold path gets to
 * the floor of just base64-decoding and JSON.parsing every record.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { decodeBatch, decodeInto, type RawRecord } from '../lambdas/core/batch.js';
import { Envelope } from '../lambdas/core/envelope.js';
import { foldObservations, type KeyState } from '../lambdas/core/key-state.js';
import { DEFAULT_WINDOW_SETTINGS } from '../lambdas/core/window-settings.js';
import { aggregateFromState, WindowAggregator } from '../lambdas/core/window-aggregate.js';
import { toRawRecord } from '../lambdas/handlers/stream-consumer.js';
import { DEFAULT_WORKLOAD, ShardWorkload, median, type WorkloadOptions } from './workload.js';

export interface CoreBenchOptions {
  readonly workload: WorkloadOptions;
  readonly warmup: number;
  readonly rounds: number;
}

export const DEFAULT_CORE_BENCH: CoreBenchOptions = { workload: DEFAULT_WORKLOAD, warmup: 5, rounds: 20 };

export interface CoreBenchResult {
  records: number;
  keys: number;
  bareRecordsPerSec: number;
  coreRecordsPerSec: number;
  /** Same batch, folded onto the state the previous batch left (steady state, windows emitted). */
  coreWarmStateRecordsPerSec: number;
  ratio: number;
  ratioWarmState: number;
  /**
   * The tumbling window's non-final invocation, what the deployed default runs for nearly every batch:
   * toRawRecord → decode → aggregate into the window state, with the state's JSON in and out as Lambda passes
   * it (empty state in; `Warm`: the previous delivery's state in).
   */
  windowedRecordsPerSec: number;
  windowedWarmRecordsPerSec: number;
  ratioWindowed: number;
  ratioWindowedWarm: number;
  /** Serialised window state after the batch (what Lambda carries to the next invocation). */
  windowStateBytes: number;
  /** Median ms per batch of each stage of the core, measured on its own. */
  stagesMs: { base64: number; utf8AndJsonParse: number; zodValidate: number; group: number; fold: number };
  bareMs: number;
  coreMs: number;
  windowsPerBatch: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The floor: base64 → bytes → text → JSON.parse, nothing else. */
function bare(event: KinesisStreamEvent): number {
  let sink = 0;
  for (const r of event.Records) {
    const o = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { v: number };
    sink += o.v;
  }
  return sink;
}

/** The consumer core exactly as the handler runs it, minus I/O: toRawRecord → decodeBatch → fold each key once. */
function core(event: KinesisStreamEvent, states?: Map<string, KeyState>): number {
  const batch = decodeBatch(event.Records.map(toRawRecord));
  let windows = 0;
  for (const [key, observations] of batch.byKey) {
    const r = foldObservations(states?.get(key), observations, DEFAULT_WINDOW_SETTINGS);
    windows += r.windows.length;
  }
  if (batch.invalid.length)
    throw new Error(`benchmark batch has ${batch.invalid.length} invalid records: ${batch.invalid[0]!.reason}`);
  return windows;
}

/** A non-final tumbling-window invocation minus I/O: state JSON in, decode + aggregate, state JSON out. */
function windowed(event: KinesisStreamEvent, stateJson = '{}'): string {
  const agg = aggregateFromState(JSON.parse(stateJson));
  const aggregator = new WindowAggregator(agg, DEFAULT_WINDOW_SETTINGS);
  let invalid = 0;
  decodeInto(
    event.Records.map(toRawRecord),
    {},
    { observation: (ob) => aggregator.add(ob), change: () => undefined, invalid: () => invalid++ },
  );
  aggregator.finish();
  if (invalid) throw new Error(`benchmark batch has ${invalid} invalid records`);
  return JSON.stringify(agg);
}

function time(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

export function benchConsumerCore(options: CoreBenchOptions = DEFAULT_CORE_BENCH): CoreBenchResult {
  const workload = new ShardWorkload(options.workload);
  const previous = workload.nextEvent();
  const event = workload.nextEvent();
  const records = event.Records.length;

  // State as the previous delivery left it, so the warm-state fold skips nothing and emits windows.
  const warm = new Map<string, KeyState>();
  for (const [key, obs] of decodeBatch(previous.Records.map(toRawRecord)).byKey)
    warm.set(key, foldObservations(undefined, obs, DEFAULT_WINDOW_SETTINGS).state);

  // Pre-computed inputs for the per-stage timings.
  const raws: RawRecord[] = event.Records.map(toRawRecord);
  const parsedJson = raws.map((r) => JSON.parse(utf8.decode(r.data)) as unknown);
  const byKey = decodeBatch(raws).byKey;
  const keys = byKey.size;

  // The window state the previous delivery left (its records aggregated), as Lambda hands it over.
  const previousWindowState = windowed(previous);
  for (let i = 0; i < options.warmup; i++) {
    bare(event);
    core(event);
    core(event, warm);
    windowed(event);
    windowed(event, previousWindowState);
  }
  const bareMs: number[] = [];
  const coreMs: number[] = [];
  const warmMs: number[] = [];
  const windowedMs: number[] = [];
  const windowedWarmMs: number[] = [];
  let windowStateBytes = 0;
  const stages = {
    base64: [] as number[],
    utf8AndJsonParse: [] as number[],
    zodValidate: [] as number[],
    group: [] as number[],
    fold: [] as number[],
  };
  let windowsPerBatch = 0;
  for (let i = 0; i < options.rounds; i++) {
    bareMs.push(time(() => bare(event)));
    coreMs.push(time(() => core(event)));
    warmMs.push(time(() => (windowsPerBatch = core(event, warm))));
    windowedMs.push(time(() => (windowStateBytes = windowed(event).length)));
    windowedWarmMs.push(time(() => windowed(event, previousWindowState)));
    // toRawRecord keeps the base64 text; decodeInto decodes it (into a reused buffer): this is that work alone.
    stages.base64.push(time(() => event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64'))));
    stages.utf8AndJsonParse.push(time(() => raws.map((r) => JSON.parse(utf8.decode(r.data)) as unknown)));
    stages.zodValidate.push(time(() => parsedJson.map((j) => Envelope.safeParse(j))));
    stages.fold.push(
      time(() => {
        for (const [key, obs] of byKey) foldObservations(undefined, obs, DEFAULT_WINDOW_SETTINGS).state.key === key;
      }),
    );
  }
  // What is left of the core once the measured stages are taken out: toObservation, grouping, bookkeeping.
  const stagesMs = {
    base64: median(stages.base64),
    utf8AndJsonParse: median(stages.utf8AndJsonParse),
    zodValidate: median(stages.zodValidate),
    group: 0,
    fold: median(stages.fold),
  };
  const coreMedian = median(coreMs);
  stagesMs.group = Math.max(
    0,
    coreMedian - stagesMs.base64 - stagesMs.utf8AndJsonParse - stagesMs.zodValidate - stagesMs.fold,
  );
  const bareMedian = median(bareMs);
  const warmMedian = median(warmMs);
  return {
    records,
    keys,
    bareMs: bareMedian,
    coreMs: coreMedian,
    bareRecordsPerSec: (records / bareMedian) * 1000,
    coreRecordsPerSec: (records / coreMedian) * 1000,
    coreWarmStateRecordsPerSec: (records / warmMedian) * 1000,
    ratio: bareMedian / coreMedian,
    ratioWarmState: bareMedian / warmMedian,
    windowedRecordsPerSec: (records / median(windowedMs)) * 1000,
    windowedWarmRecordsPerSec: (records / median(windowedWarmMs)) * 1000,
    ratioWindowed: bareMedian / median(windowedMs),
    ratioWindowedWarm: bareMedian / median(windowedWarmMs),
    windowStateBytes,
    stagesMs,
    windowsPerBatch,
  };
}
