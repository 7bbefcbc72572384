/** Shared builders for the core unit tests (not a test file itself). */
import type { RawRecord } from '../../../lambdas/core/batch.js';
import type { Observation, StreamPosition } from '../../../lambdas/core/observations.js';
import { seededRandom as rng } from '../../../local/random.js';

export const MINUTE = 60_000;
/** 2026-11-22T10:00:00.000Z, minute-aligned. */
export const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
export const M0 = T0 / MINUTE;

/** The three examples of docs/architecture.md "Contract 1", verbatim. */
export const DESIGN_METRIC =
  '{"v":1,"type":"metric","id":"m-8f2c","ts":"2026-11-22T10:00:03.120Z","tenant":"acme","signal":"cqs_p95","value":' +
  '0.0037,"region":"kr","dims":{"service":"search"}}';
export const DESIGN_ACTIVITY =
  '{"v":1,"type":"activity","id":"a-1","ts":1795341603120,"key":"user-42","tenant":"podcast","action":"pause",' +
  '"attrs":{"episode":"e-9","seconds":30}}';
export const DESIGN_CHANGE =
  '{"v":1,"type":"change","id":"rel-381","ts":"2026-11-22T09:40:00Z","tenant":"acme","change":"release",' +
  '"until":"2026-11-22T10:10:00Z","region":"kr","title":"search 2.3"}';

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const json = (o: unknown): Uint8Array => utf8(JSON.stringify(o));

/** A Kinesis-looking sequence number: 56 decimal digits, increasing with `n`. */
export function seq(n: number): string {
  return `4959033827149025660855969253836157109592157598913${String(n).padStart(7, '0')}`;
}

export const SHARD = 'shardId-000000000000';

export function pos(n: number, shardId = SHARD): StreamPosition {
  return { shardId, sequenceNumber: seq(n) };
}

/** A metric observation for `acme#cqs_p95` (or `key`) at `ts`. */
export function ob(ts: number, value: number, extra: Partial<Observation> = {}): Observation {
  const tenant = extra.tenant ?? 'acme';
  const signal = extra.signal ?? 'cqs_p95';
  return { key: `${tenant}#${signal}`, tenant, signal, ts, value, ...extra };
}

/** When test records reach the stream: after every event time the tests use. */
export const ARRIVED_AT = T0 + 3_600_000;

export function raw(
  data: Uint8Array | string | object,
  n: number,
  partitionKey = 'acme',
  shardId = SHARD,
  arrivedAt = ARRIVED_AT,
): RawRecord {
  const bytes = data instanceof Uint8Array ? data : typeof data === 'string' ? utf8(data) : json(data);
  return { data: bytes, position: pos(n, shardId), partitionKey, arrivedAt };
}

export { rng };

/** Recursively freeze, so any write to the input throws in strict mode. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
