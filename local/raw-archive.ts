import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ShardReader, shardIds } from './event-source-poller.js';
import { onlyResource, type CfnTemplate } from './stand-ins.js';

/** What the synthesized delivery stream declares about how and where it writes. */
export interface ArchiveDeliverySettings {
  /** Logical id of the delivery stream; locally also its name (the first part of every object name). */
  deliveryStreamName: string;
  bucketLogicalId: string;
  prefix: string;
  compression: 'GZIP' | 'UNCOMPRESSED';
  bufferingIntervalMs: number;
  bufferingSizeBytes: number;
  /** The AppendDelimiterToRecord processor: a newline after every record. */
  appendDelimiter: boolean;
}

const MIB = 1024 * 1024;

export function archiveSettingsFromTemplate(template: CfnTemplate): ArchiveDeliverySettings {
  const [id, stream] = onlyResource(template, 'AWS::KinesisFirehose::DeliveryStream');
  const s3 = stream.Properties?.ExtendedS3DestinationConfiguration;
  if (!s3) throw new Error(`${id} has no extended S3 destination`);
  const bucketLogicalId = s3.BucketARN?.['Fn::GetAtt']?.[0];
  if (typeof bucketLogicalId !== 'string')
    throw new Error(`${id}: the destination bucket is not a bucket of the template`);
  const compression = s3.CompressionFormat ?? 'UNCOMPRESSED';
  if (compression !== 'GZIP' && compression !== 'UNCOMPRESSED')
    throw new Error(`${id}: compression ${compression} has no local stand-in`);
  const processors = (
    s3.ProcessingConfiguration?.Enabled === false ? [] : (s3.ProcessingConfiguration?.Processors ?? [])
  ) as { Type: string }[];
  const unknown = processors.filter((p) => p.Type !== 'AppendDelimiterToRecord');
  if (unknown.length) throw new Error(`${id}: processor ${unknown[0]!.Type} has no local stand-in`);
  return {
    deliveryStreamName: id,
    bucketLogicalId,
    // Firehose's default when no prefix is set.
    prefix: s3.Prefix ?? '!{timestamp:yyyy/MM/dd/HH}/',
    compression,
    // Firehose's defaults: 300 s, 5 MiB.
    bufferingIntervalMs: Number(s3.BufferingHints?.IntervalInSeconds ?? 300) * 1000,
    bufferingSizeBytes: Number(s3.BufferingHints?.SizeInMBs ?? 5) * MIB,
    appendDelimiter: processors.length > 0,
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * Expands Firehose's `!{timestamp:<pattern>}` (Java DateTimeFormatter letters, UTC) and `!{firehose:random-string}`.
 */
export function expandPrefix(prefix: string, at: number): string {
  const d = new Date(at);
  const fields: Record<string, string> = {
    yyyy: String(d.getUTCFullYear()),
    MM: pad(d.getUTCMonth() + 1),
    dd: pad(d.getUTCDate()),
    HH: pad(d.getUTCHours()),
    mm: pad(d.getUTCMinutes()),
    ss: pad(d.getUTCSeconds()),
  };
  return prefix.replace(/!\{([^:}]+):([^}]*)\}/g, (whole, namespace: string, expr: string) => {
    if (namespace === 'timestamp') return expr.replace(/yyyy|MM|dd|HH|mm|ss/g, (f) => fields[f]!);
    if (namespace === 'firehose' && expr === 'random-string') return randomUUID().slice(0, 11);
    throw new Error(`prefix expression ${whole} has no local stand-in`);
  });
}

/**
 * Firehose's object name: `<prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>[.gz]`, all from the oldest record's
 * arrival (UTC).
 */
export function archiveObjectKey(settings: ArchiveDeliverySettings, firstArrival: number): string {
  const d = new Date(firstArrival);
  const stamp = [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
  ]
    .map((n, i) => (i ? pad(n) : String(n)))
    .join('-');
  return (
    `${expandPrefix(settings.prefix, firstArrival)}${settings.deliveryStreamName}-1-${stamp}-${randomUUID()}` +
    `${settings.compression === 'GZIP' ? '.gz' : ''}`
  );
}

export interface LocalRawArchiveOptions {
  kinesis: KinesisClient;
  s3: S3Client;
  streamName: string;
  template: CfnTemplate;
  /** Local bucket names by logical id, as `createBucketsFromTemplate` made them. */
  buckets: Map<string, string>;
  /** Locally the buffering interval is usually shortened so objects appear while the demo runs. */
  bufferingIntervalMs?: number;
  /** Tests shorten the size limit to see several objects. */
  bufferingSizeBytes?: number;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * The Firehose delivery stream on the stand-ins: reads every shard of the local stream from
 * TRIM_HORIZON with its own iterators (independent of the consumer), buffers records, and writes them
 * to the s3rver bucket in Firehose's layout and compression when the buffer reaches its size, when its
 * interval has passed since the oldest buffered record, and on flush()/stop().
 */
export class LocalRawArchive {
  readonly settings: ArchiveDeliverySettings;
  readonly bucket: string;
  /** Records read from the stream. */
  received = 0;
  /** Records written in archive objects. */
  records = 0;
  objects = 0;
  private buffer: Buffer[] = [];
  private bufferedBytes = 0;
  private firstArrival = 0;
  private firstBufferedAt = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private writes: Promise<void> = Promise.resolve();
  private readonly intervalMs: number;
  private readonly sizeBytes: number;

  constructor(private readonly opts: LocalRawArchiveOptions) {
    this.settings = archiveSettingsFromTemplate(opts.template);
    const bucket = opts.buckets.get(this.settings.bucketLogicalId);
    if (!bucket) throw new Error(`no local bucket for ${this.settings.bucketLogicalId}`);
    this.bucket = bucket;
    this.intervalMs = opts.bufferingIntervalMs ?? this.settings.bufferingIntervalMs;
    this.sizeBytes = opts.bufferingSizeBytes ?? this.settings.bufferingSizeBytes;
  }

  async start(): Promise<void> {
    const shards = await shardIds(this.opts.kinesis, this.opts.streamName);
    const readers = await Promise.all(
      shards.map((id) => ShardReader.open(this.opts.kinesis, this.opts.streamName, id, 'TRIM_HORIZON')),
    );
    this.running = true;
    this.loops = readers.map((r) => this.read(r));
  }

  /** Writes whatever is buffered now and waits until every object so far is in the bucket. */
  async flush(): Promise<void> {
    this.deliver();
    await this.writes;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.flush();
  }

  /** Copies every archive object to `<dir>/<key>` (key paths kept); returns how many. */
  async copyTo(dir: string, prefix = this.staticPrefix()): Promise<number> {
    let copied = 0;
    let token: string | undefined;
    do {
      const page = await this.opts.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const { Key } of page.Contents ?? []) {
        const out = await this.opts.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
        const file = join(dir, Key!);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, await out.Body!.transformToByteArray());
        copied++;
      }
      token = page.NextContinuationToken;
    } while (token);
    return copied;
  }

  /** The part of the prefix before its first expression (`raw/`). */
  private staticPrefix(): string {
    return this.settings.prefix.split('!{')[0]!;
  }

  private async read(reader: ShardReader): Promise<void> {
    const pollMs = this.opts.pollIntervalMs ?? 50;
    while (this.running) {
      try {
        const records = await reader.read();
        for (const r of records) this.add(Buffer.from(r.Data!), r.ApproximateArrivalTimestamp?.getTime() ?? Date.now());
        if (this.buffer.length && Date.now() - this.firstBufferedAt >= this.intervalMs) this.deliver();
        if (!records.length) await new Promise((r) => setTimeout(r, pollMs));
      } catch (e) {
        this.opts.onError?.(e);
        await new Promise((r) => setTimeout(r, pollMs * 4));
      }
    }
  }

  private add(data: Buffer, arrival: number): void {
    const record = this.settings.appendDelimiter ? Buffer.concat([data, Buffer.from('\n')]) : data;
    if (!this.buffer.length) {
      this.firstArrival = arrival;
      this.firstBufferedAt = Date.now();
    }
    this.firstArrival = Math.min(this.firstArrival, arrival);
    this.buffer.push(record);
    this.bufferedBytes += record.length;
    this.received++;
    if (this.bufferedBytes >= this.sizeBytes) this.deliver();
  }

  /** Takes the buffer as one object; writes are chained so objects land in order and counts stay exact. */
  private deliver(): void {
    if (!this.buffer.length) return;
    const records = this.buffer;
    const body = Buffer.concat(records);
    const key = archiveObjectKey(this.settings, this.firstArrival);
    this.buffer = [];
    this.bufferedBytes = 0;
    this.writes = this.writes.then(async () => {
      try {
        await this.opts.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: this.settings.compression === 'GZIP' ? gzipSync(body) : body,
          }),
        );
        this.records += records.length;
        this.objects++;
      } catch (e) {
        // Firehose would retry and then write to the error prefix; locally the loss shows in the summary.
        this.opts.onError?.(e);
      }
    });
  }
}
