import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterSink, Reasoned } from '../core/ports/dead-letter-sink.js';

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
      if (out.Failed?.length)
        throw new Error(
          `dead-letter queue rejected ${out.Failed.length} message(s): ` +
            `${out.Failed.map((f) => f.Message ?? f.Code).join('; ')}`,
        );
    }
  }
}

/** Records are at most 64 KB so they fit; the reason is what gets trimmed if anything must be. */
function fitBody(letter: Reasoned): string {
  const body = JSON.stringify(letter);
  if (Buffer.byteLength(body) <= SQS_MAX_BODY) return body;
  return JSON.stringify({ ...letter, reason: `${letter.reason.slice(0, 1000)} (reason truncated)` });
}
