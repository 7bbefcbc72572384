import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { HOUR_MS, DAY_MS } from './time.js';

/** Contract 1: one UTF-8 JSON object per Kinesis record. */

export const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
export const nameField = () =>
  z
    .string()
    .regex(NAME, "must be 1-64 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit");

/** ISO-8601 with a zone, or epoch milliseconds, as epoch ms; undefined when it is neither. */
export function eventTimeMs(v: unknown): number | undefined {
  const ms =
    typeof v === 'number' ? v : typeof v === 'string' && /[zZ]|[+-]\d\d:?\d\d$/.test(v) ? Date.parse(v) : Number.NaN;
  // 2000-01-01 .. 2200-01-01 catches seconds-instead-of-ms and garbage alike.
  return Number.isFinite(ms) && ms >= 946_684_800_000 && ms <= 7_258_118_400_000 ? Math.trunc(ms) : undefined;
}

export const eventTime = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = eventTimeMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be ISO-8601 with a time zone or epoch milliseconds (2000..2200)' });
    return z.NEVER;
  }
  return ms;
});

const common = {
  v: z.literal(1),
  id: z.string().min(1).max(128).optional(),
  ts: eventTime,
  region: nameField().optional(),
};

export const MetricRecord = z.object({
  ...common,
  type: z.literal('metric'),
  tenant: nameField(),
  signal: nameField(),
  value: z.number().refine(Number.isFinite, 'must be a finite number'),
  dims: z.record(z.string(), z.string().max(256)).optional(),
});

export const ActivityRecord = z.object({
  ...common,
  type: z.literal('activity'),
  key: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[^#\s]+$/, "key must not contain '#' or whitespace"),
  tenant: nameField(),
  action: nameField(),
  attrs: z.record(z.string(), z.unknown()).optional(),
});

export const CHANGE_KINDS = ['release', 'flag', 'experiment', 'maintenance', 'campaign'] as const;

export const ChangeRecord = z
  .object({
    ...common,
    type: z.literal('change'),
    tenant: z.union([z.literal('*'), nameField()]),
    change: z.enum(CHANGE_KINDS),
    until: eventTime.optional(),
    title: z.string().max(512).optional(),
  })
  .refine((r) => r.until === undefined || r.until >= r.ts, { message: 'until must not be before ts', path: ['until'] });

export const Envelope = z.discriminatedUnion('type', [MetricRecord, ActivityRecord, ChangeRecord]);

export type MetricRecord = z.output<typeof MetricRecord>;
export type ActivityRecord = z.output<typeof ActivityRecord>;
export type ChangeRecord = z.output<typeof ChangeRecord>;
export type Envelope = z.output<typeof Envelope>;

export type ParseResult = { ok: true; record: Envelope } | { ok: false; reason: string };

const MAX_RECORD_BYTES = 64 * 1024;

/**
 * Decode and validate one record; the reason names every offending field.
 *
 * @example
 * const parsed = parseEnvelope(
 *   Buffer.from('{"v":1,"type":"metric","ts":1795341603120,"tenant":"acme","signal":"cqs_p95","value":0.0037}'),
 * );
 * if (parsed.ok) parsed.record.type; // 'metric'
 * else parsed.reason;           // names the offending field, e.g. "value: …"
 */
export function parseEnvelope(data: Uint8Array): ParseResult {
  if (data.byteLength > MAX_RECORD_BYTES)
    return { ok: false, reason: `record is ${data.byteLength} bytes; the limit is ${MAX_RECORD_BYTES}` };
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = bytes.toString('utf8');
  // Decoding replaces invalid sequences with U+FFFD: only a text that has one needs the full check (a
  // fatal TextDecoder, or validating every record first, costs the hot path a second pass).
  if (text.includes('\uFFFD') && !isUtf8(bytes)) return { ok: false, reason: 'record is not valid UTF-8' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `record is not JSON: ${(e as Error).message}` };
  }
  const fast = plainMetric(json);
  if (fast) return { ok: true, record: fast };
  const parsed = Envelope.safeParse(json);
  if (parsed.success) return { ok: true, record: parsed.data };
  return { ok: false, reason: describeIssues(parsed.error.issues) };
}

/**
 * The common case, a plain metric record, checked without the schema machinery (a third of the
 * consumer's time otherwise). Anything it is not sure about goes to the schema, which also gives
 * the reason; a property test pins that both agree on every record this accepts.
 */
/** Tenants, signals and regions repeat in nearly every record: remember the names already checked. */
const checkedNames = new Set<string>();
const MAX_CHECKED_NAMES = 10_000;

function isName(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  if (checkedNames.has(v)) return true;
  if (!NAME.test(v)) return false;
  if (checkedNames.size < MAX_CHECKED_NAMES) checkedNames.add(v);
  return true;
}

export function plainMetric(json: unknown): MetricRecord | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const o = json as Record<string, unknown>;
  if (o.v !== 1 || o.type !== 'metric') return undefined;
  const { id, tenant, signal, value, region, dims } = o;
  if (!isName(tenant) || !isName(signal)) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  if (id !== undefined && (typeof id !== 'string' || id.length < 1 || id.length > 128)) return undefined;
  if (region !== undefined && !isName(region)) return undefined;
  const ts = eventTimeMs(o.ts);
  if (ts === undefined) return undefined;
  const record: MetricRecord = { v: 1, ts, type: 'metric', tenant, signal, value };
  if (id !== undefined) record.id = id;
  if (region !== undefined) record.region = region;
  if (dims !== undefined) {
    if (typeof dims !== 'object' || dims === null || Array.isArray(dims)) return undefined;
    // JSON.parse made a fresh plain object: checked in place, not copied (the consumer never reads dims).
    for (const k in dims) {
      const d = (dims as Record<string, unknown>)[k];
      if (typeof d !== 'string' || d.length > 256) return undefined;
    }
    record.dims = dims as Record<string, string>;
  }
  return record;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : 'record'}: ${i.message}`).join('; ');
}

/** How long a change record put on the stream (or mapped by a source poller) may last, by default. */
export const DEFAULT_MAX_STREAM_CHANGE_WINDOW_MS = DAY_MS;

/**
 * What any producer may announce on the stream: one tenant's change of at most `maxWindowMs`.
 * Platform-wide (`*`) or longer windows mute alerting far beyond the producer's own tenant, so they
 * come only through the IAM-authorised operator route. Returns the problem, naming the field.
 */
export function streamChangeProblem(
  change: ChangeRecord,
  maxWindowMs = DEFAULT_MAX_STREAM_CHANGE_WINDOW_MS,
): string | undefined {
  if (change.tenant === '*')
    return (
      `tenant: a change record on the stream must name exactly one tenant (got "${change.tenant}"); ` +
      `platform-wide changes go through the operator API`
    );
  if (change.until !== undefined && change.until - change.ts > maxWindowMs) {
    const hours = Math.round(((change.until - change.ts) / HOUR_MS) * 10) / 10;
    return (
      `until: a change record on the stream may last at most ${maxWindowMs / HOUR_MS} h (this one lasts ${hours} ` +
      `h); longer windows go through the operator API`
    );
  }
  return undefined;
}

/**
 * Partition key producers should use: tenant for metric/change, key for activity (keeps a key's records on one shard).
 */
export function partitionKeyOf(record: Envelope): string {
  return record.type === 'activity' ? record.key : record.tenant;
}
