import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { compareSequence } from '../lambdas/core/key-state.js';
import type { CfnTemplate } from './stand-ins.js';
import { onlyResource } from './stand-ins.js';

/** The event source mapping settings that change how Lambda delivers, as declared in the template. */
export interface EventSourceSettings {
  batchSize: number;
  maxBatchingWindowMs: number;
  maxRetryAttempts: number;
  bisectOnError: boolean;
  reportBatchItemFailures: boolean;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

export function eventSourceSettingsFromTemplate(template: CfnTemplate): EventSourceSettings {
  const [, esm] = onlyResource(template, 'AWS::Lambda::EventSourceMapping');
  const p = esm.Properties ?? {};
  return {
    batchSize: Number(p.BatchSize ?? 100),
    maxBatchingWindowMs: Number(p.MaximumBatchingWindowInSeconds ?? 0) * 1000,
    maxRetryAttempts: p.MaximumRetryAttempts === undefined ? -1 : Number(p.MaximumRetryAttempts),
    bisectOnError: Boolean(p.BisectBatchOnFunctionError),
    reportBatchItemFailures: (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
    startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
  };
}

/** What Lambda sends to the on-failure destination: where the batch was, never its data. */
export interface StreamFailureNotice {
  requestContext: { condition: 'RetryAttemptsExhausted'; approximateInvokeCount: number; functionArn: string };
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    batchSize: number;
    streamArn: string;
  };
  errorMessage?: string;
}

export interface PollerOptions {
  kinesis: KinesisClient;
  streamName: string;
  streamArn: string;
  functionName: string;
  handler: (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse | void>;
  settings: EventSourceSettings;
  onFailure: (notice: StreamFailureNotice) => void;
  /** How often an idle shard is polled. */
  pollIntervalMs?: number;
  /** Locally the batching window is usually shortened so the demo stays interactive. */
  batchingWindowMs?: number;
  onError?: (error: unknown) => void;
  /** Maps the stand-in's wall-clock arrival stamp to the scenario's time (see ArrivalClock); absent: the wall clock. */
  arrivalClock?: (wallMs: number) => number | undefined;
}

/**
 * Reads every shard and invokes the consumer with real KinesisStreamEvents, the way the Lambda
 * event source mapping does: batches up to BatchSize, resumes from the lowest reported batch item
 * failure, retries whole batches that throw (bisecting when configured), and after the retry
 * budget sends the batch's coordinates to the on-failure destination and moves on.
 */
export class EventSourcePoller {
  private running = false;
  private readonly loops: Promise<void>[] = [];
  invocations = 0;

  constructor(private readonly opts: PollerOptions) {}

  async start(): Promise<void> {
    const shards = await shardIds(this.opts.kinesis, this.opts.streamName);
    this.running = true;
    for (const shardId of shards) this.loops.push(this.pollShard(shardId));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async pollShard(shardId: string): Promise<void> {
    const { kinesis, streamName, settings } = this.opts;
    const pollMs = this.opts.pollIntervalMs ?? 50;
    const windowMs = this.opts.batchingWindowMs ?? settings.maxBatchingWindowMs;
    const reader = await ShardReader.open(kinesis, streamName, shardId, settings.startingPosition);
    let pending: _Record[] = [];
    let firstPendingAt = 0;
    let attempts = 0;
    let limit = settings.batchSize;
    while (this.running) {
      try {
        if (pending.length < settings.batchSize) {
          const records = await reader.read(settings.batchSize - pending.length);
          if (records.length) {
            if (!pending.length) firstPendingAt = Date.now();
            pending.push(...records);
          }
        }
        const due =
          pending.length >= settings.batchSize || (pending.length > 0 && Date.now() - firstPendingAt >= windowMs);
        if (!due) {
          await sleep(pollMs);
          continue;
        }
        const batch = pending.slice(0, limit);
        const done = await this.deliver(shardId, batch, attempts);
        if (done.kind === 'ok') {
          pending = pending.slice(batch.length);
          attempts = 0;
          limit = settings.batchSize;
        } else if (done.kind === 'partial') {
          pending = pending.slice(done.resumeAt);
          attempts = done.resumeAt > 0 ? 1 : attempts + 1;
        } else {
          attempts++;
          if (settings.bisectOnError && batch.length > 1) limit = Math.ceil(batch.length / 2);
        }
        if (done.kind !== 'ok' && settings.maxRetryAttempts >= 0 && attempts > settings.maxRetryAttempts) {
          const failedBatch = pending.slice(0, limit);
          this.opts.onFailure(
            this.notice(shardId, failedBatch, attempts, done.kind === 'error' ? done.message : 'batch item failures'),
          );
          pending = pending.slice(failedBatch.length);
          attempts = 0;
          limit = settings.batchSize;
        }
        if (pending.length) firstPendingAt = Date.now() - windowMs;
      } catch (e) {
        this.opts.onError?.(e);
        await sleep(pollMs * 4);
      }
    }
  }

  private async deliver(
    shardId: string,
    batch: _Record[],
    attempt: number,
  ): Promise<{ kind: 'ok' } | { kind: 'partial'; resumeAt: number } | { kind: 'error'; message: string }> {
    this.invocations++;
    const event: KinesisStreamEvent = { Records: batch.map((r) => this.toEventRecord(shardId, r)) };
    const context = {
      functionName: this.opts.functionName,
      awsRequestId: `local-${this.invocations}`,
      attempt,
    } as unknown as Context;
    let response: KinesisStreamBatchResponse | void;
    try {
      response = await this.opts.handler(event, context);
    } catch (e) {
      return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
    }
    const failures = this.opts.settings.reportBatchItemFailures ? (response?.batchItemFailures ?? []) : [];
    if (!failures.length) return { kind: 'ok' };
    // Lambda resumes from the lowest reported sequence number; an unknown identifier fails the whole batch.
    const seqs = failures.map((f) => f.itemIdentifier);
    if (seqs.some((s) => !s || !batch.some((r) => r.SequenceNumber === s)))
      return { kind: 'error', message: 'batchItemFailures named an unknown sequence number' };
    const lowest = seqs.reduce((a, b) => (compareSequence(a, b) <= 0 ? a : b));
    return { kind: 'partial', resumeAt: batch.findIndex((r) => r.SequenceNumber === lowest) };
  }

  private toEventRecord(shardId: string, r: _Record): KinesisStreamRecord {
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.PartitionKey!,
        sequenceNumber: r.SequenceNumber!,
        data: Buffer.from(r.Data!).toString('base64'),
        approximateArrivalTimestamp: this.arrival(r) / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${r.SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/local',
      awsRegion: 'us-east-1',
      eventSourceARN: this.opts.streamArn,
    };
  }

  private arrival(r: _Record): number {
    const wall = r.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
    return this.opts.arrivalClock?.(wall) ?? wall;
  }

  private notice(shardId: string, batch: _Record[], attempts: number, errorMessage: string): StreamFailureNotice {
    return {
      requestContext: {
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: attempts,
        functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${this.opts.functionName}`,
      },
      KinesisBatchInfo: {
        shardId,
        startSequenceNumber: batch[0]?.SequenceNumber ?? '',
        endSequenceNumber: batch.at(-1)?.SequenceNumber ?? '',
        batchSize: batch.length,
        streamArn: this.opts.streamArn,
      },
      errorMessage,
    };
  }
}

export async function shardIds(kinesis: KinesisClient, streamName: string): Promise<string[]> {
  const shards = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  return (shards.Shards ?? []).map((s) => s.ShardId!);
}

/** One shard read with its own iterator, as every Kinesis reader (Lambda, Firehose) does independently. */
export class ShardReader {
  private constructor(
    private readonly kinesis: KinesisClient,
    private iterator: string | undefined,
  ) {}

  static async open(
    kinesis: KinesisClient,
    streamName: string,
    shardId: string,
    position: 'TRIM_HORIZON' | 'LATEST',
  ): Promise<ShardReader> {
    const out = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: position }),
    );
    return new ShardReader(kinesis, out.ShardIterator);
  }

  /** The next records (at most `limit`, at most 10,000 per GetRecords); none once a closed shard is read to its end. */
  async read(limit = 10_000): Promise<_Record[]> {
    if (!this.iterator) return [];
    const out = await this.kinesis.send(
      new GetRecordsCommand({ ShardIterator: this.iterator, Limit: Math.min(10_000, limit) }),
    );
    this.iterator = out.NextShardIterator;
    return out.Records ?? [];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
