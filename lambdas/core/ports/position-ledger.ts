/**
 * Remembers, per (shard, partition key), the last sequence number whose side effect was done.
 * Lambda redelivers everything after the lowest failed record, so records without key state
 * (dead letters) need this to be sent once, not once per delivery.
 */
export interface PositionLedger {
  lastDone(groups: readonly string[]): Promise<Map<string, string>>;
  markDone(done: ReadonlyMap<string, string>): Promise<void>;
}
