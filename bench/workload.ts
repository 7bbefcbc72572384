/**
 * Synthetic Kinesis deliveries for the benchmarks: metric envelopes as producers send them, base64 as Lambda receives
 * them.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { seededRandom as rng } from '../local/random.js';

export const SHARD_ID = 'shardId-000000000000';
export const START_TS = Date.UTC(2026, 10, 22, 10, 0, 0);
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/anomaly-guard-ingest';

/** 10 signals × tenants: keys are `tenant-NN#signal`. */
const SIGNALS = [
  'ingest_rpm',
  'search_qps',
  'notify_rpm',
  'webhook_rps',
  'cir_p95',
  'cqs_p95',
  'cin_p95',
  'cache_hit_ratio',
  'edge_p95_ms',
  'origin_p95_ms',
] as const;
/** Each signal's typical value (a key's values are uniform within ±20 % of it). */
export const SIGNAL_LEVELS: Record<(typeof SIGNALS)[number], number> = {
  ingest_rpm: 12_000,
  search_qps: 850,
  notify_rpm: 3_000,
  webhook_rps: 40,
  cir_p95: 0.0042,
  cqs_p95: 0.0037,
  cin_p95: 0.0011,
  cache_hit_ratio: 0.93,
  edge_p95_ms: 48,
  origin_p95_ms: 210,
};
const REGIONS = ['kr', 'us', 'eu'];

export interface WorkloadOptions {
  /** Records per delivery. */
  readonly records: number;
  /** Distinct keys (tenant#signal); a multiple of 10. */
  readonly keys: number;
  /** Event time covered by one delivery. */
  readonly spanMs: number;
  /** Records arriving up to this far behind their neighbours (most within the allowed lateness). */
  readonly jitterMs: number;
  readonly seed: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  records: 10_000,
  keys: 100,
  spanMs: 3 * 60_000,
  jitterMs: 20_000,
  seed: 1,
};

/** A Kinesis-looking 56-digit sequence number, increasing with n. */
export function sequenceNumber(n: number): string {
  return `4959033827149025660855969253836157109592157598${String(n).padStart(10, '0')}`;
}

/** The deliveries one shard would hand the consumer, back to back in event time. */
export class ShardWorkload {
  private readonly r: () => number;
  private next = 0;
  private batchNo = 0;
  /** Event time where the next delivery starts. */
  private cursor = START_TS;

  constructor(readonly options: WorkloadOptions = DEFAULT_WORKLOAD) {
    if (options.keys % 10 !== 0) throw new Error('keys must be a multiple of 10');
    this.r = rng(options.seed);
  }

  /** Event time where the next delivery starts. */
  get nextStart(): number {
    return this.cursor;
  }

  /**
   * The next delivery, continuing event time and sequence numbers; `extra` adds the given envelopes
   * (text) at random positions; `override` changes size or span for this delivery only.
   */
  nextEvent(
    extra: readonly string[] = [],
    override: Partial<Pick<WorkloadOptions, 'records' | 'spanMs' | 'jitterMs'>> = {},
  ): KinesisStreamEvent {
    const { records, spanMs, jitterMs } = { ...this.options, ...override };
    const { keys } = this.options;
    const tenants = keys / 10;
    const from = this.cursor;
    const payloads: { text: string; pk: string }[] = [];
    for (let i = 0; i < records; i++) {
      const k = Math.floor(this.r() * keys);
      const tenant = `tenant-${String(k % tenants).padStart(2, '0')}`;
      const signal = SIGNALS[Math.floor(k / tenants)]!;
      const ts = Math.max(from, from + Math.floor((i / records) * spanMs - this.r() * jitterMs));
      const value = Number((SIGNAL_LEVELS[signal] * (0.8 + 0.4 * this.r())).toPrecision(6));
      const envelope = {
        v: 1,
        type: 'metric',
        id: `m-${this.batchNo}-${i}-${Math.floor(this.r() * 1e6).toString(36)}`,
        // Producers send both forms; a third send ISO-8601.
        ts: i % 3 === 0 ? new Date(ts).toISOString() : ts,
        tenant,
        signal,
        value,
        region: REGIONS[k % REGIONS.length],
        ...(i % 4 === 0 ? { dims: { service: 'search', az: `use1-az${(k % 3) + 1}` } } : {}),
      };
      payloads.push({ text: JSON.stringify(envelope), pk: tenant });
    }
    for (const text of extra) {
      const at = Math.floor(this.r() * (payloads.length + 1));
      let pk = 'unknown';
      try {
        pk = (JSON.parse(text) as { tenant?: string }).tenant ?? pk;
      } catch {
        /* not JSON: the partition key is whatever the producer said */
      }
      payloads.splice(at, 0, { text, pk });
    }
    const arrivedAt = from + spanMs;
    const event: KinesisStreamEvent = { Records: payloads.map((p) => this.record(p.text, p.pk, arrivedAt)) };
    this.batchNo++;
    this.cursor += spanMs;
    return event;
  }

  private record(text: string, partitionKey: string, arrivedAt: number): KinesisStreamRecord {
    const seq = sequenceNumber(++this.next);
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey,
        sequenceNumber: seq,
        data: Buffer.from(text, 'utf8').toString('base64'),
        approximateArrivalTimestamp: arrivedAt / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${SHARD_ID}:${seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/stream-consumer',
      awsRegion: 'us-east-1',
      eventSourceARN: STREAM_ARN,
    };
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
