/**
 * State writes: the real DynamoDB adapters on an in-process dynalite, counting every request and
 * the capacity DynamoDB reports, per Kinesis batch.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { DynamoDbAnomalyStore } from '../lambdas/adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../lambdas/adapters/change-store.js';
import type { DeadLetter, DeadLetterSink } from '../lambdas/core/ports/dead-letter-sink.js';
import { DynamoDbWindowStore } from '../lambdas/adapters/window-store.js';
import type { Notifier } from '../lambdas/core/ports/notifier.js';
import { DynamoDbPositionLedger } from '../lambdas/adapters/position-ledger.js';
import { DEFAULT_WINDOW_SETTINGS } from '../lambdas/core/window-settings.js';
import { processStreamBatch, type StreamBatchDeps } from '../lambdas/usecases/stream-batch.js';
import { toRawRecord } from '../lambdas/handlers/stream-consumer.js';
import { startLocalDynamo, WRITE_OPERATIONS, type LocalDynamo } from './dynamo-harness.js';
import { DEFAULT_WORKLOAD, ShardWorkload, median, type WorkloadOptions } from './workload.js';

/** Dead letters go to SQS, not DynamoDB: just count them. */
export class CountingDeadLetterSink implements DeadLetterSink {
  sent = 0;
  async send(letters: readonly DeadLetter[]): Promise<void> {
    this.sent += letters.length;
  }
}

/** Alerts go to SNS, not DynamoDB: just count them. */
export class CountingNotifier implements Notifier {
  published = 0;
  async publish(): Promise<void> {
    this.published++;
  }
}

export interface BatchMeasurement {
  label: string;
  records: number;
  distinctKeys: number;
  /** Write requests (PutItem + BatchWriteItem + UpdateItem + ...). */
  writeRequests: number;
  /** Items written (a BatchWriteItem request carries up to 25). */
  itemsWritten: number;
  stateWrites: number;
  /** WCU of the window-state writes, from BatchOutcome.writeUnits. */
  stateWcu: number;
  /** WCU of every write (state, change items, dead-letter ledger), as DynamoDB reported. */
  allWcu: number;
  rcu: number;
  requests: Record<string, number>;
  durationMs: number;
  windows: number;
  processed: number;
  redelivered: number;
  deadLettered: number;
  alerts: number;
  failed: number;
}

export interface ScenarioResult {
  batchSize: number;
  keys: number;
  spanMs: number;
  batches: BatchMeasurement[];
  /** Averages over the ordinary (non-redelivery, non-mixed) batches. */
  steady: {
    writeRequests: number;
    itemsWritten: number;
    distinctKeys: number;
    stateWcu: number;
    allWcu: number;
    rcu: number;
    durationMs: number;
  };
  stateItemBytes: { mean: number; max: number; count: number };
}

export interface StateWritesResult {
  primary: ScenarioResult;
  bySize: ScenarioResult[];
}

const WRITE_OPS: readonly string[] = WRITE_OPERATIONS;

async function measureBatch(
  dynamo: LocalDynamo,
  deps: StreamBatchDeps,
  event: KinesisStreamEvent,
  label: string,
): Promise<BatchMeasurement> {
  dynamo.reset();
  const t = performance.now();
  const outcome = await processStreamBatch(event.Records.map(toRawRecord), deps);
  const durationMs = performance.now() - t;
  const c = dynamo.counters;
  const writeRequests = Object.entries(c.requests).reduce((n, [op, k]) => n + (WRITE_OPS.includes(op) ? k : 0), 0);
  const allWcu = Object.entries(c.capacity).reduce((n, [op, k]) => n + (WRITE_OPS.includes(op) ? k : 0), 0);
  const rcu = Object.entries(c.capacity).reduce((n, [op, k]) => n + (WRITE_OPS.includes(op) ? 0 : k), 0);
  if (outcome.failed.length)
    throw new Error(`${label}: ${outcome.failed.length} records failed: ${outcome.failed[0]!.error}`);
  return {
    label,
    records: outcome.received,
    distinctKeys: outcome.keys,
    writeRequests,
    itemsWritten: c.itemsWritten,
    stateWrites: outcome.stateWrites,
    stateWcu: outcome.writeUnits,
    allWcu,
    rcu,
    requests: { ...c.requests },
    durationMs,
    windows: outcome.windows.length,
    processed: outcome.processed,
    redelivered: outcome.redelivered,
    deadLettered: outcome.deadLettered,
    alerts: outcome.alerts,
    failed: outcome.failed.length,
  };
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

interface ScenarioOptions {
  readonly workload: WorkloadOptions;
  readonly batches: number;
  /** Add a redelivery and a batch with change and invalid records after the ordinary ones. */
  readonly extras: boolean;
  /** Unmeasured deliveries first (10,000 records, 3 min each), so windows close and detection state exists. */
  readonly warmupBatches: number;
}

async function runScenario(
  dynamo: LocalDynamo,
  tablePrefix: string,
  options: ScenarioOptions,
): Promise<ScenarioResult> {
  const { workload, batches: ordinaryBatches, extras, warmupBatches } = options;
  const table = await dynamo.createStateTable(tablePrefix);
  const deps: StreamBatchDeps = {
    windows: new DynamoDbWindowStore(dynamo.client, table),
    changes: new DynamoDbChangeStore(dynamo.client, table),
    anomalies: new DynamoDbAnomalyStore(dynamo.client, table),
    notifier: new CountingNotifier(),
    deadLetters: new CountingDeadLetterSink(),
    ledger: new DynamoDbPositionLedger(dynamo.client, table, 'consumer'),
    settings: DEFAULT_WINDOW_SETTINGS,
    source: 'bench',
  };
  const shard = new ShardWorkload(workload);
  for (let i = 0; i < warmupBatches; i++) {
    const warm = await processStreamBatch(
      shard
        .nextEvent([], {
          records: DEFAULT_WORKLOAD.records,
          spanMs: DEFAULT_WORKLOAD.spanMs,
          jitterMs: DEFAULT_WORKLOAD.jitterMs,
        })
        .Records.map(toRawRecord),
      deps,
    );
    if (warm.failed.length) throw new Error(`warm-up failed: ${warm.failed[0]!.error}`);
  }
  const batches: BatchMeasurement[] = [];
  let last: KinesisStreamEvent | undefined;
  for (let i = 0; i < ordinaryBatches; i++) {
    last = shard.nextEvent();
    batches.push(
      await measureBatch(
        dynamo,
        deps,
        last,
        i === 0 ? (warmupBatches ? 'first after warm-up' : 'first (empty table)') : `follow-up ${i}`,
      ),
    );
  }
  const ordinary = [...batches];
  if (extras && last) {
    batches.push(await measureBatch(dynamo, deps, last, 'redelivery of the last'));
    // 20 change records and 20 invalid records (10 partition keys) mixed into an ordinary batch.
    const at = shard.nextStart;
    const changes = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({
        v: 1,
        type: 'change',
        id: `rel-${i}`,
        ts: at,
        tenant: `tenant-${String(i % 10).padStart(2, '0')}`,
        change: 'release',
        until: at + 1_800_000,
      }),
    );
    const invalid = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({
        v: 1,
        type: 'metric',
        ts: at,
        tenant: `tenant-${String(i % 10).padStart(2, '0')}`,
        signal: 'search_qps',
        value: 'high',
      }),
    );
    batches.push(
      await measureBatch(dynamo, deps, shard.nextEvent([...changes, ...invalid]), '+20 changes +20 invalid'),
    );
  }
  const sizes = await dynamo.itemSizes(table, 'w#');
  // Skip the first batch for the steady state only when there are enough batches to average.
  const steadySet = ordinary.length > 2 ? ordinary.slice(1) : ordinary;
  return {
    batchSize: workload.records,
    keys: workload.keys,
    spanMs: workload.spanMs,
    batches,
    steady: {
      writeRequests: mean(steadySet.map((b) => b.writeRequests)),
      itemsWritten: mean(steadySet.map((b) => b.itemsWritten)),
      distinctKeys: mean(steadySet.map((b) => b.distinctKeys)),
      stateWcu: mean(steadySet.map((b) => b.stateWcu)),
      allWcu: mean(steadySet.map((b) => b.allWcu)),
      rcu: mean(steadySet.map((b) => b.rcu)),
      durationMs: median(steadySet.map((b) => b.durationMs)),
    },
    stateItemBytes: { mean: mean(sizes), max: Math.max(...sizes), count: sizes.length },
  };
}

export async function benchStateWrites(): Promise<StateWritesResult> {
  const dynamo = await startLocalDynamo();
  try {
    // The same 10k-record / 100-key delivery as the core benchmark, then follow-ups.
    const primary = await runScenario(dynamo, 'bench-primary-', {
      workload: DEFAULT_WORKLOAD,
      batches: 5,
      extras: true,
      warmupBatches: 0,
    });
    // Batches at 1,000 events/s (each covers batchSize ms of event time) after a warm-up that closes
    // windows, so the items carry detection state as they do in steady operation.
    const bySize: ScenarioResult[] = [];
    for (const [records, count] of [
      [10_000, 5],
      [1_000, 12],
      [100, 40],
    ] as const) {
      const workload = { ...DEFAULT_WORKLOAD, records, spanMs: records, jitterMs: Math.min(2_000, records), seed: 7 };
      bySize.push(
        await runScenario(dynamo, `bench-size-${records}-`, {
          workload,
          batches: count,
          extras: false,
          warmupBatches: 4,
        }),
      );
    }
    return { primary, bySize };
  } finally {
    await dynamo.close();
  }
}
