export interface DeadLetterMessage {
  readonly id: string;
  readonly body: string;
}

/** Where dead letters are read from: an SQS queue in AWS, the JSONL file of a local queue. */
export interface DeadLetterSource {
  readonly name: string;
  /** The next messages not yet received in this run; empty when there are none. */
  receive(max: number): Promise<DeadLetterMessage[]>;
  /** Deletes messages whose record is back on the stream. */
  remove(ids: readonly string[]): Promise<void>;
  /** Makes the messages left in place visible again at once. */
  release(ids: readonly string[]): Promise<void>;
}
