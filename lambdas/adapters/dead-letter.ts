import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { InvalidRecord } from '../core/batch.js';

/** What lands in the dead-letter destination for a record the consumer could not accept. */
export interface DeadLetter {
  reason: string;
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  /** When the record reached the stream (absent for replayed recordings). */
  arrivedAt?: string;
  /** The record as text when it is UTF-8, else base64 in `dataBase64`. */
  data?: string;
  dataBase64?: string;
  source: string;
}

/** Any dead letter names why it is one. */
export interface Reasoned {
  reason: string;
}

export interface DeadLetterSink<T extends Reasoned = DeadLetter> {
  send(letters: readonly T[]): Promise<void>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function toDeadLetter(item: InvalidRecord, source: string): DeadLetter {
  const { raw } = item;
  const letter: DeadLetter = {
    reason: item.reason,
    shardId: raw.position.shardId,
    sequenceNumber: raw.position.sequenceNumber,
    partitionKey: raw.partitionKey,
    source,
  };
  if (Number.isFinite(raw.arrivedAt)) letter.arrivedAt = new Date(raw.arrivedAt).toISOString();
  try {
    letter.data = utf8.decode(raw.data);
  } catch {
    letter.dataBase64 = Buffer.from(raw.data).toString('base64');
  }
  return letter;
}

const SQS_BATCH = 10;
const SQS_MAX_BODY = 256 * 1024;

/** Sends dead letters to an SQS queue; throws if any message could not be sent so the records are retried. */
export class SqsDeadLetterSink<T extends Reasoned = DeadLetter> implements DeadLetterSink<T> {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(letters: readonly T[]): Promise<void> {
    for (let i = 0; i < letters.length; i += SQS_BATCH) {
      const chunk = letters.slice(i, i + SQS_BATCH);
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((l, j) => ({
            Id: String(j),
            MessageBody: fitBody(l),
            MessageAttributes: { reason: { DataType: 'String', StringValue: l.reason.slice(0, 256) } },
          })),
        }),
      );
      if (out.Failed?.length) throw new Error(`dead-letter queue rejected ${out.Failed.length} message(s): ${out.Failed.map((f) => f.Message ?? f.Code).join('; ')}`);
    }
  }
}

/** Records are at most 64 KB so they fit; the reason is what gets trimmed if anything must be. */
function fitBody(letter: Reasoned): string {
  const body = JSON.stringify(letter);
  if (Buffer.byteLength(body) <= SQS_MAX_BODY) return body;
  return JSON.stringify({ ...letter, reason: `${letter.reason.slice(0, 1000)} (reason truncated)` });
}
