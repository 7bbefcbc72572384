import { readFileSync, writeFileSync } from 'node:fs';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { KinesisClient, PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { DeadLetterFormatError, redriveDecision } from '../core/ingest/redrive.js';
import type { DeadLetterMessage, DeadLetterSource } from '../core/ports/dead-letter-source.js';
import { putRecordsReliably, type ProduceOptions } from './stream-producer.js';

const SQS_BATCH = 10;
/** Long enough to put a batch on the stream; a crashed run's messages reappear after it. */
const VISIBILITY_SECONDS = 300;

export class SqsDeadLetterSource implements DeadLetterSource {
  private readonly receipts = new Map<string, string>();

  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    private readonly queueUrl: string,
  ) {}

  get name(): string {
    return this.queueUrl;
  }

  async receive(max: number): Promise<DeadLetterMessage[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.min(SQS_BATCH, max),
        WaitTimeSeconds: 1,
        VisibilityTimeout: VISIBILITY_SECONDS,
      }),
    );
    return (out.Messages ?? []).map((m) => {
      this.receipts.set(m.MessageId!, m.ReceiptHandle!);
      return { id: m.MessageId!, body: m.Body ?? '' };
    });
  }

  async remove(ids: readonly string[]): Promise<void> {
    await this.batch(
      ids,
      (entries) => new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
      'delete',
    );
  }

  async release(ids: readonly string[]): Promise<void> {
    await this.batch(
      ids,
      (entries) =>
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: entries.map((e) => ({ ...e, VisibilityTimeout: 0 })),
        }),
      'release',
    );
  }

  private async batch(
    ids: readonly string[],
    command: (
      entries: { Id: string; ReceiptHandle: string }[],
    ) => DeleteMessageBatchCommand | ChangeMessageVisibilityBatchCommand,
    what: string,
  ): Promise<void> {
    const failed: string[] = [];
    for (let i = 0; i < ids.length; i += SQS_BATCH) {
      const entries = ids
        .slice(i, i + SQS_BATCH)
        .map((id, j) => ({ Id: String(j), ReceiptHandle: this.receipts.get(id)! }));
      const out = (await this.sqs.send(command(entries) as never)) as {
        Failed?: { Id?: string; Message?: string; Code?: string }[];
      };
      for (const f of out.Failed ?? []) failed.push(`${ids[i + Number(f.Id)]}: ${f.Message ?? f.Code}`);
    }
    if (failed.length)
      throw new Error(
        `could not ${what} ${failed.length} message(s) in ${this.queueUrl}: ${failed.slice(0, 3).join('; ')}`,
      );
  }
}

/** A local queue's JSONL file (local/queue.ts): one letter per line; removing rewrites the file without them. */
export class FileDeadLetterSource implements DeadLetterSource {
  private readonly lines: string[];
  private readonly removed = new Set<number>();
  private next = 0;

  constructor(private readonly file: string) {
    this.lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
  }

  get name(): string {
    return this.file;
  }

  async receive(max: number): Promise<DeadLetterMessage[]> {
    const from = this.next;
    this.next = Math.min(this.lines.length, from + max);
    return this.lines.slice(from, this.next).map((body, i) => ({ id: String(from + i), body }));
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.removed.add(Number(id));
    const kept = this.lines.filter((_, i) => !this.removed.has(i));
    writeFileSync(this.file, kept.length ? `${kept.join('\n')}\n` : '');
  }

  async release(): Promise<void> {}
}

export interface RedriveResult {
  read: number;
  redriven: number;
  /** Messages left in place: why each kind cannot be redriven and what to do instead. */
  left: { what: string; nextStep: string; id: string }[];
  /** Records that could not be put (their messages stay) and messages that are not dead letters. */
  failed: { id: string; error: string }[];
  /** Redrivable records by the reason they were dead-lettered. */
  byReason: Map<string, number>;
}

/**
 * Puts the records of a dead-letter source back on the stream. A message is deleted only after its
 * record is on the stream; the consumer's per-id dedupe makes a repeated redrive harmless. With
 * `dryRun` nothing is put or deleted.
 */
export async function redriveDeadLetters(
  source: DeadLetterSource,
  kinesis: KinesisClient,
  streamName: string,
  o: { dryRun?: boolean; max?: number; produce?: ProduceOptions } = {},
): Promise<RedriveResult> {
  const max = o.max ?? Number.POSITIVE_INFINITY;
  const result: RedriveResult = { read: 0, redriven: 0, left: [], failed: [], byReason: new Map() };
  const keep: string[] = [];
  try {
    for (;;) {
      const messages = await source.receive(Math.min(SQS_BATCH * 50, max - result.read));
      if (!messages.length) break;
      result.read += messages.length;
      const records: { id: string; entry: PutRecordsRequestEntry }[] = [];
      for (const m of messages) {
        try {
          const d = redriveDecision(m.body);
          if (!d.redrive) {
            result.left.push({ id: m.id, what: d.what, nextStep: d.nextStep });
            keep.push(m.id);
            continue;
          }
          result.byReason.set(d.reason, (result.byReason.get(d.reason) ?? 0) + 1);
          records.push({ id: m.id, entry: { Data: d.data, PartitionKey: d.partitionKey } });
        } catch (e) {
          if (!(e instanceof DeadLetterFormatError)) throw e;
          result.failed.push({ id: m.id, error: e.message });
          keep.push(m.id);
        }
      }
      if (o.dryRun) {
        keep.push(...records.map((r) => r.id));
        result.redriven += records.length;
      } else if (records.length) {
        const put = await putRecordsReliably(
          kinesis,
          streamName,
          records.map((r) => r.entry),
          o.produce,
        );
        const failedEntries = new Map(put.failed.map((f) => [f.entry, f]));
        const landed = records.filter((r) => !failedEntries.has(r.entry));
        for (const r of records) {
          const f = failedEntries.get(r.entry);
          if (!f) continue;
          result.failed.push({
            id: r.id,
            error: `PutRecords failed after retries: ${f.errorCode ?? ''} ${f.errorMessage ?? ''}`.trim(),
          });
          keep.push(r.id);
        }
        await source.remove(landed.map((r) => r.id));
        result.redriven += landed.length;
      }
      if (result.read >= max) break;
    }
  } finally {
    await source.release(keep);
  }
  return result;
}
