import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SNSClient } from '@aws-sdk/client-sns';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type {
  Context,
  KinesisStreamBatchResponse,
  KinesisStreamEvent,
  KinesisStreamRecord,
  KinesisStreamTumblingWindowEvent,
} from 'aws-lambda';
import { Base64Record, type RawRecord } from '../core/batch.js';
import { processStreamBatch, type BatchOutcome, type StreamBatchDeps } from '../usecases/stream-batch.js';
import { processWindowedBatch, type WindowedBatchOptions } from '../usecases/windowed-batch.js';
import { SqsDeadLetterSink } from '../adapters/dead-letter.js';
import { DEFAULT_MITIGATION_TIMINGS, StepFunctionsMitigationStarter } from '../adapters/mitigation-starter.js';
import { SnsNotifier } from '../adapters/notifier.js';
import { KinesisShardLineage } from '../adapters/shard-lineage.js';
import { CONSUMER_ENV } from './consumer-environment.js';
import { consumerDeps } from './consumer-wiring.js';
import { countWithDimension } from './count-with-dimension.js';
import { requireEnv } from './require-env.js';

export interface ConsumerObservers {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Called after every batch (the local runtime prints progress from it). */
  readonly onOutcome?: (outcome: BatchOutcome) => void | Promise<void>;
}

/**
 * A Kinesis event, with the tumbling-window fields when the event source mapping sets
 * `TumblingWindowInSeconds` (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html).
 */
export type ConsumerEvent = KinesisStreamEvent &
  Partial<
    Pick<KinesisStreamTumblingWindowEvent, 'window' | 'state' | 'isFinalInvokeForWindow' | 'isWindowTerminatedEarly'>
  > & {
    shardId?: string;
    eventSourceARN?: string;
  };

/** The batch response, with the window state when the event was a tumbling-window one. */
export type ConsumerResponse = KinesisStreamBatchResponse & { state?: object };

export type StreamConsumer = (event: ConsumerEvent, context: Context) => Promise<ConsumerResponse>;

/** Whether Lambda delivered the event under a tumbling window (it then expects `state` back). */
export function isTumblingWindowEvent(event: ConsumerEvent): boolean {
  return event.window !== undefined && event.window !== null;
}

/** The Kinesis consumer over any adapters: Lambda wires AWS clients below, the local runtime wires the stand-ins. */
export function createStreamConsumer(
  deps: StreamBatchDeps,
  observers: ConsumerObservers = {},
  windowOptions: WindowedBatchOptions = {},
): StreamConsumer {
  const processor = new BatchProcessor(EventType.KinesisDataStreams);
  const { logger, metrics } = observers;
  return async (event, context) => {
    if (isTumblingWindowEvent(event)) return windowed(event);
    const outcome = await processStreamBatch(event.Records.map(toRawRecord), deps);
    await observe(outcome);
    const failed = new Map(outcome.failed.map((f) => [f.position.sequenceNumber, f.error]));
    // Powertools turns per-record failures into batchItemFailures (and a full-batch failure into a throw).
    return processPartialResponse(
      event,
      async (record: KinesisStreamRecord) => {
        const error = failed.get(record.kinesis.sequenceNumber);
        if (error) throw new Error(error);
      },
      processor,
      { context },
    );
  };

  /**
   * A tumbling-window invocation: aggregate into the state and return it, or (final) fold, detect and save.
   * A failed final invocation throws, so Lambda retries it with the same state until it succeeds; a
   * non-final one reports its failed records with the state (a whole-batch failure throws: Lambda retries the
   * batch with the previous state).
   */
  async function windowed(event: ConsumerEvent): Promise<ConsumerResponse> {
    const { outcome, state, finalFailed } = await processWindowedBatch(
      event.Records.map(toRawRecord),
      {
        state: event.state,
        final: event.isFinalInvokeForWindow === true,
        terminatedEarly: event.isWindowTerminatedEarly === true,
        ...(event.shardId !== undefined && { shardId: event.shardId }),
        ...windowOf(event),
      },
      deps,
      windowOptions,
    );
    await observe(outcome);
    if (finalFailed)
      throw new Error(
        `final invocation of window ${event.window?.start}: ${outcome.failed[0]?.error ?? 'a key could not be saved'}`,
      );
    const failedSeqs = [...new Set(outcome.failed.map((f) => f.position.sequenceNumber))];
    if (failedSeqs.length && failedSeqs.length >= event.Records.length)
      throw new Error(`every record of the batch failed: ${outcome.failed[0]?.error}`);
    return { state, batchItemFailures: failedSeqs.map((itemIdentifier) => ({ itemIdentifier })) };
  }

  async function observe(outcome: BatchOutcome): Promise<void> {
    if (metrics) recordMetrics(metrics, outcome);
    for (const a of outcome.anomalies)
      logger?.info('anomaly', {
        anomaly: a.id,
        class: a.class,
        decision: a.decision,
        score: a.score,
        change: a.change,
      });
    if (outcome.failed.length)
      logger?.warn('records will be redelivered', {
        failed: outcome.failed.length,
        firstError: outcome.failed[0]?.error,
      });
    logger?.info('batch folded', summarise(outcome));
    await observers.onOutcome?.(outcome);
  }
}

/** The window's start and length, when Lambda named them (ISO times). */
function windowOf(event: ConsumerEvent): { window?: { startMs: number; lengthMs: number } } {
  const startMs = Date.parse(event.window?.start ?? '');
  const endMs = Date.parse(event.window?.end ?? '');
  return Number.isFinite(startMs) && endMs > startMs ? { window: { startMs, lengthMs: endMs - startMs } } : {};
}

/** The record's bytes stay base64 until decodeInto decodes them (into a reused buffer, see Base64Record). */
export function toRawRecord(r: KinesisStreamRecord): RawRecord {
  return new Base64Record(
    r.kinesis.data,
    { shardId: shardIdOf(r.eventID), sequenceNumber: r.kinesis.sequenceNumber },
    r.kinesis.partitionKey,
    Math.round(r.kinesis.approximateArrivalTimestamp * 1000),
  );
}

/** The last shard id seen: a batch comes from one shard, so its id string is made once. */
let lastShardId = '';

/** eventID is `<shardId>:<sequenceNumber>`. */
function shardIdOf(eventID: string): string {
  if (lastShardId && eventID.startsWith(lastShardId) && eventID.charCodeAt(lastShardId.length) === 58)
    return lastShardId;
  const colon = eventID.indexOf(':');
  lastShardId = colon > 0 ? eventID.slice(0, colon) : eventID;
  return lastShardId;
}

function summarise(o: BatchOutcome) {
  const { windows, failed, anomalies, ...counts } = o;
  return { ...counts, windowsEmitted: windows.length, anomalies: anomalies.length, failed: failed.length };
}

export function recordMetrics(metrics: Metrics, o: BatchOutcome): void {
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  count('RecordsReceived', o.received);
  count('RecordsProcessed', o.processed);
  count('RecordsDeadLettered', o.deadLettered);
  count('RecordsLate', o.late);
  count('RecordsDuplicate', o.duplicate);
  count('RecordsRedelivered', o.redelivered);
  count('RecordsFailed', o.failed.length);
  count('ChangeRecordsStored', o.changes);
  count('WindowsEmitted', o.windows.length);
  count('AnomaliesConfirmed', o.anomalies.length);
  count('AlertsPublished', o.alerts);
  count('MitigationsStarted', o.mitigationsStarted);
  count('AnomalyBlips', o.blips);
  count('AnomaliesRecovered', o.recovered);
  count('StateWrites', o.stateWrites);
  count('StateWriteConflicts', o.conflicts);
  count('EpisodeTraceWrites', o.traceWrites);
  // Quiet keys scored but carried to their next window's write (lambdas/core/window-carry.ts).
  count('StateWritesDeferred', o.deferred);
  metrics.addMetric('StateWriteUnits', MetricUnit.Count, o.writeUnits);
  metrics.publishStoredMetrics();
  // Per class (four values, so the dimension stays bounded); never per tenant or key.
  const byClass = new Map<string, { anomalies: number; alerts: number }>();
  for (const a of o.anomalies) {
    const c = byClass.get(a.class) ?? { anomalies: 0, alerts: 0 };
    c.anomalies++;
    if (a.decision !== 'suppressed') c.alerts++;
    byClass.set(a.class, c);
  }
  for (const [cls, c] of byClass) {
    countWithDimension(metrics, 'class', cls, 'AnomaliesByClass', c.anomalies);
    countWithDimension(metrics, 'class', cls, 'AlertsByClass', c.alerts);
  }
}

let lambdaConsumer: StreamConsumer | undefined;

function lambdaWiring(): StreamConsumer {
  const tracer = new Tracer();
  const stateMachineArn = process.env[CONSUMER_ENV.mitigationStateMachineArn];
  const streamArn = process.env[CONSUMER_ENV.streamArn];
  const timings = { ...DEFAULT_MITIGATION_TIMINGS, ...JSON.parse(process.env[CONSUMER_ENV.mitigationTimings] || '{}') };
  const deps = consumerDeps({
    dynamo: tracer.captureAWSv3Client(new DynamoDBClient({ maxAttempts: 6 })),
    tableName: requireEnv(CONSUMER_ENV.stateTable),
    env: process.env,
    notifier: new SnsNotifier(
      tracer.captureAWSv3Client(new SNSClient({ maxAttempts: 6 })),
      requireEnv(CONSUMER_ENV.alertTopicArn),
    ),
    deadLetters: new SqsDeadLetterSink(
      tracer.captureAWSv3Client(new SQSClient({ maxAttempts: 6 })),
      requireEnv(CONSUMER_ENV.invalidRecordQueueUrl),
    ),
    ...(stateMachineArn && {
      mitigations: new StepFunctionsMitigationStarter(
        tracer.captureAWSv3Client(new SFNClient({ maxAttempts: 6 })),
        stateMachineArn,
        timings,
      ),
    }),
    source: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'stream-consumer',
    ...(streamArn && {
      lineage: new KinesisShardLineage(tracer.captureAWSv3Client(new KinesisClient({ maxAttempts: 6 })), streamArn),
    }),
  });
  return createStreamConsumer(deps, { logger: new Logger(), metrics: new Metrics() });
}

export const handler: StreamConsumer = (event, context) => {
  lambdaConsumer ??= lambdaWiring();
  return lambdaConsumer(event, context);
};
