/**
 * The deployed default's cost: the stream consumer's handler under 60-second tumbling windows (as the
 * synthesized event source mapping declares, TumblingWindowInSeconds 60), on the real DynamoDB adapters
 * against an in-process dynalite. Every invocation a shard's window gets is made: one per 1,000-record batch
 * (the default batch size at 1,000 events/s per shard), the state passed between them as Lambda passes it
 * (JSON), then the final invocation. Requests, capacity and item sizes are what dynalite reports; Lambda
 * duration is the handler's measured time on this machine (the in-process dynalite shares the CPU).
 *
 * 10,000 keys at 5,000 events/s need 5 shards (1,000 records/s each): each shard then carries 2,000 keys at
 * 1,000 events/s, and shards share nothing, so one such shard is measured and its cost per event is the
 * stream's.
 */
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { DynamoDbAnomalyStore } from '../lambdas/adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../lambdas/adapters/change-store.js';
import { DynamoDbPositionLedger } from '../lambdas/adapters/position-ledger.js';
import { DynamoDbWindowCarryStore } from '../lambdas/adapters/window-carry-store.js';
import { CachingWindowStore, DynamoDbWindowStore } from '../lambdas/adapters/window-store.js';
import type { WindowStore } from '../lambdas/core/ports/window-store.js';
import { DEFAULT_WINDOW_SETTINGS } from '../lambdas/core/window-settings.js';
import { createStreamConsumer, type ConsumerEvent } from '../lambdas/handlers/stream-consumer.js';
import type { BatchOutcome, StreamBatchDeps } from '../lambdas/usecases/stream-batch.js';
import { startLocalDynamo, WRITE_OPERATIONS, type LocalDynamo } from './dynamo-harness.js';
import { matureKeys } from './mature-keys.js';
import { billOf, perMillion, type UsageBill } from './pricing.js';
import { CountingDeadLetterSink, CountingNotifier } from './state-writes.js';
import { SHARD_ID, ShardWorkload } from './workload.js';

export interface WindowedScenario {
  readonly label: string;
  /** Keys on the measured shard. */
  readonly keys: number;
  /** Events per second on the measured shard (≤ 1,000: a shard's write limit). */
  readonly eventsPerSecond: number;
  /** Shards the stream needs for the stated rate (the measured one stands for each). */
  readonly shards: number;
  readonly batchSize: number;
  readonly warmupMinutes: number;
  readonly measuredMinutes: number;
  /** Serve the container's own writes from memory (CachingWindowStore, the wiring's default). */
  readonly cache: boolean;
  /** Write quiet keys every other window (the window carry, the deployed default). */
  readonly carry: boolean;
  /** Days of detector history every key has before the measured minutes (0: the warm-up's minutes only). */
  readonly matureDays: number;
}

export const WINDOWED_SCENARIOS = {
  default: {
    label: '1,000 events/s over 100 keys (1 shard)',
    keys: 100,
    eventsPerSecond: 1_000,
    shards: 1,
    batchSize: 1_000,
    warmupMinutes: 12,
    measuredMinutes: 4,
    cache: true,
    carry: true,
    matureDays: 14,
  },
  keys10k: {
    label: '5,000 events/s over 10,000 keys (5 shards × 2,000 keys)',
    keys: 2_000,
    eventsPerSecond: 1_000,
    shards: 5,
    batchSize: 1_000,
    warmupMinutes: 12,
    measuredMinutes: 2,
    cache: true,
    carry: true,
    matureDays: 14,
  },
} as const satisfies Record<string, WindowedScenario>;

export interface WindowedCost {
  scenario: WindowedScenario;
  events: number;
  invocations: number;
  finalInvocations: number;
  lambdaMs: number;
  stateWrites: number;
  /** Window-state writes (key items and the shard's carry item) per key active in a window (minute). */
  writesPerActiveKeyMinute: number;
  /** Their write units per key active in a window (the carry item takes several). */
  wruPerActiveKeyMinute: number;
  wru: number;
  rru: number;
  requests: Record<string, number>;
  alerts: number;
  mitigationsStarted: number;
  /** Sizes of the state items (DynamoDB item size: names + values) at the end. */
  stateItemBytes: { mean: number; max: number; count: number };
  /** Largest window state carried between invocations (serialised JSON). */
  maxWindowStateBytes: number;
  perMillion: UsageBill;
  /** Provisioned write capacity instead of on-demand for the state writes (an option, not the default). */
  provisionedWritesPerMillion: number;
}

const context = { functionName: 'bench', awsRequestId: 'bench' } as unknown as Context;
/** Step Functions state transitions of one mitigation execution, about (the default demo's mean). */
const TRANSITIONS_PER_EXECUTION = 40;
/** Provisioned WCU-hour (us-east-1) and the auto-scaling target utilisation it is bought at. */
const PROVISIONED_WCU_HOUR = 0.00065;
const AUTOSCALING_TARGET = 0.7;

export async function benchWindowedCost(scenario: WindowedScenario, dynamo?: LocalDynamo): Promise<WindowedCost> {
  const own = !dynamo;
  const local = dynamo ?? (await startLocalDynamo());
  try {
    const table = await local.createStateTable(`bench-windowed-${scenario.keys}-`);
    const store: WindowStore = new DynamoDbWindowStore(local.client, table);
    const notifier = new CountingNotifier();
    let mitigationsStarted = 0;
    const deps: StreamBatchDeps = {
      windows: scenario.cache ? new CachingWindowStore(store) : store,
      changes: new DynamoDbChangeStore(local.client, table),
      anomalies: new DynamoDbAnomalyStore(local.client, table),
      notifier,
      deadLetters: new CountingDeadLetterSink(),
      ledger: new DynamoDbPositionLedger(local.client, table, 'consumer'),
      settings: DEFAULT_WINDOW_SETTINGS,
      source: 'bench',
      ...(scenario.carry && { carry: { store: new DynamoDbWindowCarryStore(local.client, table) } }),
    };
    const outcomes: BatchOutcome[] = [];
    const consumer = createStreamConsumer(deps, { onOutcome: (o) => void outcomes.push(o) });
    const shard = new ShardWorkload({
      records: scenario.batchSize,
      keys: scenario.keys,
      spanMs: (scenario.batchSize / scenario.eventsPerSecond) * 1000,
      jitterMs: 2_000,
      seed: 5,
    });
    let lambdaMs = 0;
    let invocations = 0;
    let finalInvocations = 0;
    let maxWindowStateBytes = 0;
    const invoke = async (event: ConsumerEvent) => {
      const t = performance.now();
      const response = await consumer(event, context);
      lambdaMs += performance.now() - t;
      invocations++;
      if (response.batchItemFailures.length) throw new Error('a batch item failed in the bench');
      return response;
    };
    /** One tumbling window of one minute: its batches, then the final invocation. */
    const window = async (batches: number, override?: { records: number; spanMs: number }) => {
      const start = shard.nextStart;
      const meta = {
        window: { start: new Date(start).toISOString(), end: new Date(start + 60_000).toISOString() },
        shardId: SHARD_ID,
        isWindowTerminatedEarly: false,
      };
      let state: object = {};
      for (let b = 0; b < batches; b++) {
        const event: KinesisStreamEvent = override
          ? shard.nextEvent([], { ...override, jitterMs: 2_000 })
          : shard.nextEvent();
        const json = JSON.stringify(state);
        maxWindowStateBytes = Math.max(maxWindowStateBytes, json.length);
        const r = await invoke({ ...event, ...meta, state: JSON.parse(json), isFinalInvokeForWindow: false });
        state = r.state!;
      }
      finalInvocations++;
      await invoke({ Records: [], ...meta, state: JSON.parse(JSON.stringify(state)), isFinalInvokeForWindow: true });
      // The keys active in the window (the final invocation also folds the keys the previous one carried).
      return Object.keys((state as { k?: object }).k ?? {}).length;
    };
    // Warm-up: one record per key every 10 s, so windows close and the items carry detector state.
    const warmupPerKeyMinute = 6;
    for (let m = 0; m < scenario.warmupMinutes; m++)
      await window(1, { records: scenario.keys * warmupPerKeyMinute, spanMs: 60_000 });
    // Matured on minutes as noisy as the warm-up's (its last minutes are still to be scored), so that the
    // measured minutes, whose means are steadier, do not page.
    if (scenario.matureDays > 0)
      await matureKeys(
        { local, table, windows: deps.windows },
        scenario.matureDays,
        shard.nextStart,
        warmupPerKeyMinute,
      );
    local.reset();
    outcomes.length = 0;
    lambdaMs = 0;
    invocations = 0;
    finalInvocations = 0;
    notifier.published = 0;
    const batchesPerMinute = Math.round((scenario.eventsPerSecond * 60) / scenario.batchSize);
    const activeKeyMinutes: number[] = [];
    for (let m = 0; m < scenario.measuredMinutes; m++) {
      const before = outcomes.length;
      const active = await window(batchesPerMinute);
      if (outcomes.length === before) throw new Error('no outcome');
      activeKeyMinutes.push(active);
    }
    mitigationsStarted = outcomes.reduce((n, o) => n + o.mitigationsStarted, 0);
    const events = outcomes.reduce((n, o) => n + o.received, 0);
    const stateWrites = outcomes.reduce((n, o) => n + o.stateWrites, 0);
    const failed = outcomes.reduce((n, o) => n + o.failed.length, 0);
    if (failed) throw new Error(`${failed} records failed in the bench`);
    const c = local.counters;
    const sum = (pick: (op: string) => boolean) =>
      Object.entries(c.capacity).reduce((n, [op, k]) => n + (pick(op) ? k : 0), 0);
    const isWrite = (op: string) => (WRITE_OPERATIONS as readonly string[]).includes(op);
    const wru = sum(isWrite);
    const rru = sum((op) => !isWrite(op));
    const sizes = await local.itemSizes(table, 'w#');
    const usage = {
      lambda: { consumer: { invocations, ms: lambdaMs } },
      dynamodb: { consumer: { wru, rru } },
      snsPublishes: notifier.published,
      stateTransitions: mitigationsStarted * TRANSITIONS_PER_EXECUTION,
    };
    // The same write units bought as provisioned capacity at the auto-scaling target: WRU per second of the
    // measured minutes → WCU-hours per million events.
    const seconds = scenario.measuredMinutes * 60;
    const provisionedWcu = wru / seconds / AUTOSCALING_TARGET;
    const provisionedWritesPerMillion = (provisionedWcu * PROVISIONED_WCU_HOUR) / ((events / seconds) * 3600);
    return {
      scenario,
      events,
      invocations,
      finalInvocations,
      lambdaMs,
      stateWrites,
      writesPerActiveKeyMinute: stateWrites / activeKeyMinutes.reduce((a, b) => a + b, 0),
      wruPerActiveKeyMinute: wru / activeKeyMinutes.reduce((a, b) => a + b, 0),
      wru,
      rru,
      requests: { ...c.requests },
      alerts: notifier.published,
      mitigationsStarted,
      stateItemBytes: {
        mean: sizes.reduce((a, b) => a + b, 0) / sizes.length,
        max: Math.max(...sizes),
        count: sizes.length,
      },
      maxWindowStateBytes,
      perMillion: perMillion(billOf(usage, ['consumer']), events),
      provisionedWritesPerMillion: provisionedWritesPerMillion * 1e6,
    };
  } finally {
    if (own) await local.close();
  }
}
