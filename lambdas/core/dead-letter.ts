import type { InvalidRecord } from './batch.js';
import type { DeadLetter } from './ports/dead-letter-sink.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The dead letter of a record the consumer could not accept: why, where it was on the stream, and the record itself.
 *
 * @example
 * await sink.send(batch.invalid.map((i) => toDeadLetter(i, 'stream-consumer')));
 */
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
