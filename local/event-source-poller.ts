import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamRecord } from 'aws-lambda';
import { compareSequence } from '../lambdas/core/key-state.js';
import type { ConsumerEvent, ConsumerResponse } from '../lambdas/handlers/stream-consumer.js';
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
  /** `TumblingWindowInSeconds` in ms; 0: no tumbling window (every batch stands alone). */
  tumblingWindowMs: number;
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
    tumblingWindowMs: Number(p.TumblingWindowInSeconds ?? 0) * 1000,
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
  handler: (event: PollerEvent, context: Context) => Promise<PollerResponse | void>;
  settings: EventSourceSettings;
  onFailure: (notice: StreamFailureNotice) => void;
  /** How often an idle shard is polled. */
  pollIntervalMs?: number;
  /** Locally the batching window is usually shortened so the demo stays interactive. */
  batchingWindowMs?: number;
  onError?: (error: unknown) => void;
  /** Maps the stand-in's wall-clock arrival stamp to the scenario's time (see ArrivalClock); absent: the wall clock. */
  arrivalClock?: (wallMs: number) => number | undefined;
  /** Overrides the template's tumbling window (ms; 0 turns it off). Windows are cut on the arrival clock. */
  tumblingWindowMs?: number;
  /**
   * Closes an open tumbling window once its shard has delivered everything and read nothing new for this long
   * (wall clock). Lambda closes a window when the clock passes its end; a local scenario's arrival clock stands
   * still while the producer waits for the consumer, so locally an idle shard closes its window.
   * Default: with a shortened `batchingWindowMs`, min(that, 100 ms); otherwise never (the clock closes it).
   */
  windowIdleCloseMs?: number;
  /** Lambda's limit on a window's state per shard (serialised JSON); above it the window is terminated early. */
  maxWindowStateBytes?: number;
}

/** What the poller delivers and gets back: the consumer handler's own event and response shapes. */
export type PollerEvent = ConsumerEvent;
export type PollerResponse = ConsumerResponse;

/** Lambda's documented limit: a tumbling window's state may be at most 1 MB per shard. */
export const MAX_WINDOW_STATE_BYTES = 1024 * 1024;

type Delivery =
  | { kind: 'ok'; state?: object }
  | { kind: 'partial'; resumeAt: number; state?: object }
  | { kind: 'error'; message: string };

/** The open tumbling window of one shard. */
interface OpenWindow {
  start: number;
  end: number;
  /** The state the last successful invocation returned (checkpointed with the records it took). */
  state: object;
  /** The state exceeded the limit: the next invocation is a final one, terminated early. */
  terminateEarly: boolean;
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
  /** Final invocations of tumbling windows (retries included) and windows terminated early. */
  finalInvocations = 0;
  windowsTerminatedEarly = 0;

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
    const tumblingMs = this.opts.tumblingWindowMs ?? this.opts.settings.tumblingWindowMs;
    if (tumblingMs > 0) return this.pollShardWindowed(shardId, tumblingMs);
    const { kinesis, streamName, settings } = this.opts;
    const pollMs = this.opts.pollIntervalMs ?? 50;
    const windowMs = this.opts.batchingWindowMs ?? settings.maxBatchingWindowMs;
    const backlog = new ShardBacklog(
      await ShardReader.open(kinesis, streamName, shardId, settings.startingPosition),
      settings.batchSize,
    );
    while (this.running) {
      try {
        await backlog.fill();
        const { pending } = backlog;
        const due =
          pending.length >= settings.batchSize ||
          (pending.length > 0 && Date.now() - backlog.firstPendingAt >= windowMs);
        if (!due) {
          await sleep(pollMs);
          continue;
        }
        const batch = pending.slice(0, backlog.limit);
        this.settle(shardId, backlog, batch, await this.deliver(shardId, batch, backlog.attempts), windowMs);
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
    window?: { open: OpenWindow; final: boolean; early: boolean },
  ): Promise<Delivery> {
    this.invocations++;
    const event: PollerEvent = { Records: batch.map((r) => this.toEventRecord(shardId, r)) };
    if (window) {
      // Lambda hands the function the state as JSON: a copy the function cannot change under the poller.
      event.window = { start: new Date(window.open.start).toISOString(), end: new Date(window.open.end).toISOString() };
      event.state = JSON.parse(JSON.stringify(window.open.state)) as Record<string, unknown>;
      event.shardId = shardId;
      event.eventSourceARN = this.opts.streamArn;
      event.isFinalInvokeForWindow = window.final;
      event.isWindowTerminatedEarly = window.early;
    }
    const context = {
      functionName: this.opts.functionName,
      awsRequestId: `local-${this.invocations}`,
      attempt,
    } as unknown as Context;
    let response: PollerResponse | void;
    try {
      response = await this.opts.handler(event, context);
    } catch (e) {
      return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
    }
    // "If the response does not contain a state property, Lambda considers this a failed invocation."
    if (window && (!response || typeof response.state !== 'object' || response.state === null))
      return { kind: 'error', message: 'the tumbling-window response has no state' };
    const state = window ? response!.state : undefined;
    const failures = this.opts.settings.reportBatchItemFailures ? (response?.batchItemFailures ?? []) : [];
    if (!failures.length) return { kind: 'ok', ...(state && { state }) };
    if (window?.final) return { kind: 'error', message: 'batch item failures in a final invocation' };
    // Lambda resumes from the lowest reported sequence number; an unknown identifier fails the whole batch.
    const seqs = failures.map((f) => f.itemIdentifier);
    if (seqs.some((s) => !s || !batch.some((r) => r.SequenceNumber === s)))
      return { kind: 'error', message: 'batchItemFailures named an unknown sequence number' };
    const lowest = seqs.reduce((a, b) => (compareSequence(a, b) <= 0 ? a : b));
    return { kind: 'partial', resumeAt: batch.findIndex((r) => r.SequenceNumber === lowest), ...(state && { state }) };
  }

  /**
   * Lambda's tumbling windows (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html):
   * windows per shard, aligned to multiples of their length on the records' arrival time; the state each
   * invocation returns is passed to the next one of the window; a failed invocation (error, or a response
   * without `state`) is retried with the state it was given (bisected, up to the retry budget, then the
   * batch goes to the on-failure destination); a partial batch response checkpoints the records before the
   * lowest failure together with the returned state and resumes there; at the window's end a final
   * invocation (`isFinalInvokeForWindow`, no records) gets the state and is retried with it until it
   * succeeds, nothing of the shard moving meanwhile; a state above the 1 MB limit terminates the window
   * early (a final invocation with `isWindowTerminatedEarly`) and the window goes on with a fresh state.
   */
  private async pollShardWindowed(shardId: string, windowLength: number): Promise<void> {
    const { kinesis, streamName, settings } = this.opts;
    const pollMs = this.opts.pollIntervalMs ?? 50;
    const batchingMs = this.opts.batchingWindowMs ?? settings.maxBatchingWindowMs;
    const idleCloseMs =
      this.opts.windowIdleCloseMs ??
      (this.opts.batchingWindowMs !== undefined ? Math.min(this.opts.batchingWindowMs, 100) : undefined);
    const maxStateBytes = this.opts.maxWindowStateBytes ?? MAX_WINDOW_STATE_BYTES;
    const backlog = new ShardBacklog(
      await ShardReader.open(kinesis, streamName, shardId, settings.startingPosition),
      settings.batchSize,
    );
    let lastReadAt = Date.now();
    let open: OpenWindow | undefined;
    while (this.running) {
      try {
        if (await backlog.fill()) lastReadAt = Date.now();
        const { pending } = backlog;
        if (!open && pending.length) {
          const start = Math.floor(this.arrival(pending[0]!) / windowLength) * windowLength;
          open = { start, end: start + windowLength, state: {}, terminateEarly: false };
        }
        if (!open) {
          await sleep(pollMs);
          continue;
        }
        if (open.terminateEarly) {
          const done = await this.deliver(shardId, [], 0, { open, final: true, early: true });
          this.finalInvocations++;
          if (done.kind === 'ok') {
            this.windowsTerminatedEarly++;
            open.state = {};
            open.terminateEarly = false;
          } else await sleep(pollMs * 4);
          continue;
        }
        const end = open.end;
        let inWindow = 0;
        while (inWindow < pending.length && this.arrival(pending[inWindow]!) < end) inWindow++;
        const now = this.clockNow();
        const closing =
          inWindow < pending.length ||
          (now !== undefined && now >= end) ||
          (idleCloseMs !== undefined && !pending.length && Date.now() - lastReadAt >= idleCloseMs);
        const due =
          inWindow >= settings.batchSize ||
          (inWindow > 0 && (closing || Date.now() - backlog.firstPendingAt >= batchingMs));
        if (due) {
          const batch = pending.slice(0, Math.min(backlog.limit, inWindow));
          const done = await this.deliver(shardId, batch, backlog.attempts, { open, final: false, early: false });
          // The returned state is checkpointed with the records the invocation took.
          if (done.kind !== 'error') open.state = done.state!;
          this.settle(shardId, backlog, batch, done, batchingMs, inWindow);
          if (done.kind !== 'error' && JSON.stringify(open.state).length > maxStateBytes) open.terminateEarly = true;
          continue;
        }
        if (closing && inWindow === 0) {
          // The final invocation: retried with the same state until it succeeds; the shard waits meanwhile.
          const done = await this.deliver(shardId, [], 0, { open, final: true, early: false });
          this.finalInvocations++;
          if (done.kind === 'ok') open = undefined;
          else await sleep(pollMs * 4);
          continue;
        }
        await sleep(pollMs);
      } catch (e) {
        this.opts.onError?.(e);
        await sleep(pollMs * 4);
      }
    }
  }

  /**
   * Takes a delivery's outcome as the event source mapping does: checkpoints what it took, counts the attempt (a
   * partial batch response that moved on counts as the first), bisects a failed batch when configured, and past the
   * retry budget sends the batch's coordinates to the on-failure destination and moves on. What is left is due at
   * once (its batching window is over). `cap`: the most records the next batch may hold (a tumbling window's).
   */
  private settle(
    shardId: string,
    backlog: ShardBacklog,
    batch: readonly _Record[],
    done: Delivery,
    batchingMs: number,
    cap = Number.POSITIVE_INFINITY,
  ): void {
    const { batchSize, bisectOnError, maxRetryAttempts } = this.opts.settings;
    if (done.kind === 'ok') {
      backlog.pending = backlog.pending.slice(batch.length);
      backlog.attempts = 0;
      backlog.limit = batchSize;
    } else if (done.kind === 'partial') {
      backlog.pending = backlog.pending.slice(done.resumeAt);
      backlog.attempts = done.resumeAt > 0 ? 1 : backlog.attempts + 1;
    } else {
      backlog.attempts++;
      if (bisectOnError && batch.length > 1) backlog.limit = Math.ceil(batch.length / 2);
    }
    if (done.kind !== 'ok' && maxRetryAttempts >= 0 && backlog.attempts > maxRetryAttempts) {
      const failedBatch = backlog.pending.slice(0, Math.min(backlog.limit, cap));
      const message = done.kind === 'error' ? done.message : 'batch item failures';
      this.opts.onFailure(this.notice(shardId, failedBatch, backlog.attempts, message));
      backlog.pending = backlog.pending.slice(failedBatch.length);
      backlog.attempts = 0;
      backlog.limit = batchSize;
    }
    if (backlog.pending.length) backlog.firstPendingAt = Date.now() - batchingMs;
  }

  /** Now on the arrival clock (undefined while the scenario's clock has not started). */
  private clockNow(): number | undefined {
    return this.opts.arrivalClock ? this.opts.arrivalClock(Date.now()) : Date.now();
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

/** A shard's records read and not yet delivered for good, and the retry state of the batch at their head. */
class ShardBacklog {
  pending: _Record[] = [];
  /** When the oldest pending record was read (wall clock): its batching window runs from then. */
  firstPendingAt = 0;
  /** Failed deliveries of the batch at the head. */
  attempts = 0;
  /** The most records the next batch may hold: the batch size, less after a bisection. */
  limit: number;

  constructor(
    private readonly reader: ShardReader,
    private readonly batchSize: number,
  ) {
    this.limit = batchSize;
  }

  /** Reads what the next batch has room for; true when something was read. */
  async fill(): Promise<boolean> {
    if (this.pending.length >= this.batchSize) return false;
    const records = await this.reader.read(this.batchSize - this.pending.length);
    if (!records.length) return false;
    if (!this.pending.length) this.firstPendingAt = Date.now();
    this.pending.push(...records);
    return true;
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
