import type { ActivityRecord, Envelope, MetricRecord } from './envelope.js';

/** Where a record sits in the stream; lets a key recognise records it has already folded. */
export interface StreamPosition {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/** One value for one key at one event time: what the window fold consumes. */
export interface Observation {
  readonly key: string;
  readonly tenant: string;
  readonly signal: string;
  /** The activity key (user, device) for engagement features; absent for metrics. */
  readonly subject?: string;
  readonly ts: number;
  /** Set when `ts` lies ahead of the record's arrival: the furthest this record may move the key's watermark. */
  readonly watermarkTs?: number;
  readonly value: number;
  /** Activity action, counted per bucket so the window can say what users did. */
  readonly action?: string;
  readonly id?: string;
  readonly region?: string;
  readonly position?: StreamPosition;
}

export const ENGAGEMENT_SIGNAL = 'engagement';

/**
 * How much one activity event says the user is engaged (seed 000: listen, pause, exit).
 * The window mean of these weights is the engagement score; low is the anomaly.
 */
const ENGAGEMENT_WEIGHT: Readonly<Record<string, number>> = {
  listen: 1,
  play: 1,
  resume: 1,
  complete: 1,
  like: 1,
  share: 1,
  seek: 0.6,
  pause: 0.3,
  skip: 0.1,
  exit: 0,
  stop: 0,
};
const UNKNOWN_ACTION_WEIGHT = 0.5;

export function engagementWeight(action: string): number {
  return ENGAGEMENT_WEIGHT[action] ?? UNKNOWN_ACTION_WEIGHT;
}

/**
 * Producers name actions freely; the window counts only the known ones (others as `other`) so its state stays bounded.
 */
export function countedAction(action: string): string {
  return action in ENGAGEMENT_WEIGHT ? action : 'other';
}

/** Keys already built, per tenant and signal: a key string made once is hashed once (the consumer's hot path). */
const metricKeys = new Map<string, Map<string, string>>();
let metricKeyCount = 0;
const MAX_CACHED_METRIC_KEYS = 100_000;

export function metricKey(tenant: string, signal: string): string {
  let bySignal = metricKeys.get(tenant);
  let key = bySignal?.get(signal);
  if (key !== undefined) return key;
  key = `${tenant}#${signal}`;
  if (metricKeyCount < MAX_CACHED_METRIC_KEYS) {
    if (!bySignal) metricKeys.set(tenant, (bySignal = new Map()));
    bySignal.set(signal, key);
    metricKeyCount++;
  }
  return key;
}

export function engagementKey(tenant: string, subject: string): string {
  return `${tenant}#${ENGAGEMENT_SIGNAL}@${subject}`;
}

/**
 * Tenant, signal and subject back from a key made by metricKey or engagementKey (tenants and signals are
 * names without `#` or `@`).
 */
export function keyIdentity(key: string): { tenant: string; signal: string; subject?: string } {
  const hash = key.indexOf('#');
  const tenant = key.slice(0, hash);
  const rest = key.slice(hash + 1);
  const engagement = `${ENGAGEMENT_SIGNAL}@`;
  return rest.startsWith(engagement)
    ? { tenant, signal: ENGAGEMENT_SIGNAL, subject: rest.slice(engagement.length) }
    : { tenant, signal: rest };
}

/**
 * The feature builder: metric and activity records become observations; change records do not.
 *
 * @example
 * const parsed = parseEnvelope(data);
 * const obs = parsed.ok ? toObservation(parsed.record, { shardId, sequenceNumber }) : undefined;
 * obs?.key; // 'acme#cqs_p95' for a metric, 'podcast#engagement@user-42' for an activity record
 */
export function toObservation(record: Envelope, position?: StreamPosition): Observation | undefined {
  switch (record.type) {
    case 'metric':
      return fromMetric(record, position);
    case 'activity':
      return fromActivity(record, position);
    case 'change':
      return undefined;
  }
}

function fromMetric(r: MetricRecord, position?: StreamPosition): Observation {
  return metricObservation(r.tenant, r.signal, r.ts, r.value, r.id, r.region, position);
}

/** A metric record's observation from its fields (the consumer's fast path builds no MetricRecord first). */
export function metricObservation(
  tenant: string,
  signal: string,
  ts: number,
  value: number,
  id: string | undefined,
  region: string | undefined,
  position: StreamPosition | undefined,
): Observation {
  return { key: metricKey(tenant, signal), tenant, signal, ts, value, id, region, position };
}

function fromActivity(r: ActivityRecord, position?: StreamPosition): Observation {
  return {
    key: engagementKey(r.tenant, r.key),
    tenant: r.tenant,
    signal: ENGAGEMENT_SIGNAL,
    subject: r.key,
    ts: r.ts,
    value: engagementWeight(r.action),
    action: r.action,
    id: r.id,
    region: r.region,
    position,
  };
}
