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
