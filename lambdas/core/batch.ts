import {
  DEFAULT_MAX_STREAM_CHANGE_WINDOW_MS,
  envelopeJson,
  envelopeJsonBase64,
  envelopeOf,
  lastJsonProblem,
  partitionKeyOf,
  plainMetricTs,
  streamChangeProblem,
  type ChangeRecord,
  type Envelope,
  type PlainMetricJson,
} from './envelope.js';
import { metricObservation, toObservation, type Observation, type StreamPosition } from './observations.js';
import { MINUTE_MS } from './time.js';

/** A stream record as the consumer sees it, independent of the Lambda event shape. */
export interface RawRecord {
  readonly data: Uint8Array;
  readonly position: StreamPosition;
  readonly partitionKey: string;
  /**
   * When the record reached the stream; +Infinity for recorded data (replay), which has no stream metadata to check.
   */
  readonly arrivedAt: number;
}

/**
 * A stream record whose bytes are still base64, as Lambda delivers them: decodeInto decodes it into a reused
 * buffer (no Buffer per record, and a batch's records hold no bytes while it is decoded); `data` decodes it
 * on first read (dead letters).
 */
export class Base64Record implements RawRecord {
  private bytes: Uint8Array | undefined = undefined;

  constructor(
    readonly base64: string,
    readonly position: StreamPosition,
    readonly partitionKey: string,
    readonly arrivedAt: number,
  ) {}

  get data(): Uint8Array {
    this.bytes ??= Buffer.from(this.base64, 'base64');
    return this.bytes;
  }
}

export interface InvalidRecord {
  readonly raw: RawRecord;
  readonly reason: string;
}

export interface PositionedChange {
  readonly change: ChangeRecord;
  readonly raw: RawRecord;
}

/** A batch split into what each part of the consumer needs, keeping stream order within each key. */
export interface DecodedBatch {
  readonly byKey: Map<string, Observation[]>;
  readonly changes: PositionedChange[];
  readonly invalid: InvalidRecord[];
}

export interface DecodeOptions {
  /** Longest change window a producer may put on the stream (ms). */
  readonly maxChangeWindowMs?: number;
}

/**
 * How far past its arrival on the stream a record's event time may lie. A producer with a clock
 * far ahead would otherwise push its key's watermark forward and make every honest record late.
 */
export const MAX_FUTURE_SKEW_MS = 15 * MINUTE_MS;

/**
 * How far past its arrival a record may move its key's watermark. A record up to
 * MAX_FUTURE_SKEW_MS ahead is still folded into the minute it names, but it holds the watermark to
 * its arrival plus this much, so one fast clock cannot make the next minutes of honest records late.
 */
export const MAX_WATERMARK_LEAD_MS = 30_000;

/**
 * @example
 * const { byKey, changes, invalid } = decodeBatch(event.Records.map(toRawRecord), { maxChangeWindowMs: DAY_MS });
 * // byKey: observations per key, in stream order; changes: change records;
 * // invalid: what to dead-letter, with the reason
 */
export function decodeBatch(records: readonly RawRecord[], opts: DecodeOptions = {}): DecodedBatch {
  const byKey = new Map<string, Observation[]>();
  const changes: PositionedChange[] = [];
  const invalid: InvalidRecord[] = [];
  decodeInto(records, opts, {
    observation(ob) {
      const list = byKey.get(ob.key);
      if (list) list.push(ob);
      else byKey.set(ob.key, [ob]);
    },
    change: (c) => changes.push(c),
    invalid: (i) => invalid.push(i),
  });
  return { byKey, changes, invalid };
}

/** Where decodeInto hands each record, in stream order. */
export interface DecodeSink {
  observation(ob: Observation): void;
  change(c: PositionedChange): void;
  invalid(i: InvalidRecord): void;
}

/**
 * decodeBatch without the grouping: each record goes to `sink` as it is decoded (the tumbling window's
 * aggregation takes observations one by one, in stream order, which is also key order).
 */
export function decodeInto(records: readonly RawRecord[], opts: DecodeOptions, sink: DecodeSink): void {
  const maxChangeWindowMs = opts.maxChangeWindowMs ?? DEFAULT_MAX_STREAM_CHANGE_WINDOW_MS;
  for (const raw of records) {
    const json = raw instanceof Base64Record ? envelopeJsonBase64(raw.base64) : envelopeJson(raw.data);
    if (json === undefined) {
      sink.invalid({ raw, reason: lastJsonProblem() });
      continue;
    }
    // Recorded data (replay) carries neither an arrival time nor a partition key.
    const fromStream = Number.isFinite(raw.arrivedAt);
    const plainTs = plainMetricTs(json);
    if (plainTs !== undefined) {
      // The common plain metric record, straight from its JSON to its observation: the same checks as
      // below without a parse result or a MetricRecord per record.
      const m = json as PlainMetricJson;
      if (fromStream) {
        const problem = streamProblem(raw, 'metric', m.tenant, plainTs);
        if (problem !== undefined) {
          sink.invalid({ raw, reason: problem });
          continue;
        }
      }
      sink.observation(
        leadHeld(metricObservation(m.tenant, m.signal, plainTs, m.value, m.id, m.region, raw.position), raw),
      );
      continue;
    }
    const parsed = envelopeOf(json);
    if (!parsed.ok) {
      sink.invalid({ raw, reason: parsed.reason });
      continue;
    }
    const record = parsed.record;
    if (fromStream) {
      const problem = streamProblem(raw, record.type, partitionKeyOf(record), record.ts);
      if (problem !== undefined) {
        sink.invalid({ raw, reason: problem });
        continue;
      }
    }
    if (record.type === 'change') {
      const problem = streamChangeProblem(record, maxChangeWindowMs);
      if (problem) sink.invalid({ raw, reason: problem });
      else sink.change({ change: record, raw });
      continue;
    }
    sink.observation(leadHeld(toObservation(record, raw.position)!, raw));
  }
}

/** What is wrong with a record that came through the stream (not replay), given its partition key field and ts. */
function streamProblem(raw: RawRecord, type: Envelope['type'], expected: string, ts: number): string | undefined {
  // The shard contract: a key's records stay on one shard, in order (README, contract 1).
  if (raw.partitionKey !== expected) {
    const field = type === 'activity' ? 'key' : 'tenant';
    return (
      `partitionKey: "${raw.partitionKey}" does not match the record's ${field} "${expected}" (` +
      `${type} records are partitioned by ${field})`
    );
  }
  // Change records obey the same time bounds as observations: a far-future maintenance window is announced through
  // the operator API.
  if (ts > raw.arrivedAt + MAX_FUTURE_SKEW_MS) {
    const ahead = Math.round((ts - raw.arrivedAt) / MINUTE_MS);
    return (
      `ts: ${ahead} min after the record reached the stream; at most ${MAX_FUTURE_SKEW_MS / MINUTE_MS} min ` +
      `of clock skew is accepted`
    );
  }
  return undefined;
}

/** The observation with its watermark time held to the record's arrival plus MAX_WATERMARK_LEAD_MS. */
function leadHeld(ob: Observation, raw: RawRecord): Observation {
  const lead = raw.arrivedAt + MAX_WATERMARK_LEAD_MS;
  return ob.ts > lead ? { ...ob, watermarkTs: lead } : ob;
}
