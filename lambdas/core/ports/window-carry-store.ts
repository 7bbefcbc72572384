import type { WindowCarry } from '../window-carry.js';

/** The quiet keys a shard's last final invocation scored but did not write (lambdas/core/window-carry.ts). */
export interface WindowCarryStore {
  /** The shard's carry, read consistently (undefined: none). */
  load(shardId: string): Promise<WindowCarry | undefined>;
  /** Replaces the shard's carry as a whole; returns the write units it took. */
  save(carry: WindowCarry): Promise<{ writeUnits: number }>;
  /** Removes a carry that has been folded, if it still has this tag (another claimant may have removed it). */
  remove(shardId: string, tag: string): Promise<void>;
}

/** Which shards a shard was split or merged from (its carries are folded by the child that sees them first). */
export interface ShardLineage {
  parentsOf(shardId: string): Promise<string[]>;
}
