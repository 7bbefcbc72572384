import { ListShardsCommand, type KinesisClient, type ListShardsCommandOutput } from '@aws-sdk/client-kinesis';
import type { ShardLineage } from '../core/ports/window-carry-store.js';

/** A shard's parents from Kinesis ListShards (the consumer's event source mapping already grants it). */
export class KinesisShardLineage implements ShardLineage {
  private parents?: Map<string, string[]>;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamArn: string,
  ) {}

  async parentsOf(shardId: string): Promise<string[]> {
    // One listing per container, refreshed when a shard it has not seen asks (a reshard since).
    if (!this.parents?.has(shardId)) this.parents = await this.list();
    return this.parents.get(shardId) ?? [];
  }

  private async list(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    // StreamName, not StreamARN: the local stand-in (kinesalite) knows only the name.
    const streamName = this.streamArn.slice(this.streamArn.lastIndexOf('/') + 1);
    let next: string | undefined;
    do {
      const page: ListShardsCommandOutput = await this.kinesis.send(
        new ListShardsCommand(next ? { NextToken: next } : { StreamName: streamName }),
      );
      for (const s of page.Shards ?? []) {
        if (!s.ShardId) continue;
        out.set(
          s.ShardId,
          [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => typeof p === 'string'),
        );
      }
      next = page.NextToken;
    } while (next);
    return out;
  }
}
