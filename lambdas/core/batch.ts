import { parseEnvelope, type ChangeRecord } from './envelope.js';
import { toObservation, type Observation, type StreamPosition } from './observations.js';

/** A stream record as the consumer sees it, independent of the Lambda event shape. */
export interface RawRecord {
  readonly data: Uint8Array;
  readonly position: StreamPosition;
  readonly partitionKey: string;
  readonly arrivedAt: number;
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

/**
 * How far past its arrival on the stream a record's event time may lie. A producer with a clock
 * far ahead would otherwise push its key's watermark forward and make every honest record late.
 */
export const MAX_FUTURE_SKEW_MS = 15 * 60_000;

export function decodeBatch(records: readonly RawRecord[]): DecodedBatch {
  const byKey = new Map<string, Observation[]>();
  const changes: PositionedChange[] = [];
  const invalid: InvalidRecord[] = [];
  for (const raw of records) {
    const parsed = parseEnvelope(raw.data);
    if (!parsed.ok) {
      invalid.push({ raw, reason: parsed.reason });
      continue;
    }
    // Change records announce maintenance windows and campaigns ahead of time: only observations are checked.
    if (parsed.record.type !== 'change' && parsed.record.ts > raw.arrivedAt + MAX_FUTURE_SKEW_MS) {
      const ahead = Math.round((parsed.record.ts - raw.arrivedAt) / 60_000);
      invalid.push({ raw, reason: `ts: ${ahead} min after the record reached the stream; at most ${MAX_FUTURE_SKEW_MS / 60_000} min of clock skew is accepted` });
      continue;
    }
    if (parsed.record.type === 'change') {
      changes.push({ change: parsed.record, raw });
      continue;
    }
    const ob = toObservation(parsed.record, raw.position)!;
    const list = byKey.get(ob.key);
    if (list) list.push(ob);
    else byKey.set(ob.key, [ob]);
  }
  return { byKey, changes, invalid };
}
