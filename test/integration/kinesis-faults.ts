import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
  type _Record,
} from '@aws-sdk/client-kinesis';

/**
 * Make PutRecords calls partially fail: for the calls `failCall(n)` picks, the entries `rejects(i)` picks
 * never reach the stream and come back with ProvisionedThroughputExceededException, as Kinesis does.
 */
export function injectPartialFailures(
  kinesis: KinesisClient,
  opts: { failCall: (call: number) => boolean; rejects: (index: number, data: string) => boolean },
): void {
  let call = 0;
  kinesis.middlewareStack.add(
    (next, ctx) => async (args) => {
      if (ctx.commandName !== 'PutRecordsCommand' || !opts.failCall(++call)) return next(args);
      const input = args.input as PutRecordsCommandInput;
      const all = input.Records!;
      const rejected = new Set(
        all.map((_, i) => i).filter((i) => opts.rejects(i, Buffer.from(all[i]!.Data!).toString())),
      );
      const kept = all.filter((_, i) => !rejected.has(i));
      // Kinesis refuses an empty PutRecords: when every entry is rejected, nothing is sent.
      const result = kept.length
        ? await next({ ...args, input: { ...input, Records: kept } })
        : { response: {}, output: { $metadata: {}, Records: [] } };
      const accepted = [...((result.output as PutRecordsCommandOutput).Records ?? [])];
      const records = all.map((_, i) =>
        rejected.has(i)
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'injected' }
          : accepted.shift()!,
      );
      return {
        ...result,
        output: { ...(result.output as PutRecordsCommandOutput), FailedRecordCount: rejected.size, Records: records },
      } as typeof result;
    },
    { step: 'initialize', name: 'injectPartialFailure' },
  );
}

/** Every record on every shard of the stream, from the trim horizon. */
export async function readStream(kinesis: KinesisClient, streamName: string): Promise<_Record[]> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
  const records: _Record[] = [];
  for (const shard of shards) {
    const it = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId!,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator!, Limit: 10_000 }));
    records.push(...(out.Records ?? []));
  }
  return records;
}
