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
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? stringTimeMs(v) : Number.NaN;
  // 2000-01-01 .. 2200-01-01 catches seconds-instead-of-ms and garbage alike.
  return Number.isFinite(ms) && ms >= 946_684_800_000 && ms <= 7_258_118_400_000 ? Math.trunc(ms) : undefined;
}

function stringTimeMs(v: string): number {
  const ms = isoUtcMs(v);
  if (!Number.isNaN(ms)) return ms;
  return /[zZ]|[+-]\d\d:?\d\d$/.test(v) ? Date.parse(v) : Number.NaN;
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.sss]Z` (what toISOString writes, a third of the records) as epoch ms without
 * Date.parse (a runtime call, the bulk of an ISO record's validation); NaN for anything else, which then
 * goes to Date.parse. Only unambiguous fields are taken (day ≤ 28 or within its month, hour < 24, …), so
 * the result is always Date.parse's.
 */
function isoUtcMs(v: string): number {
  const n = v.length;
  if ((n !== 24 && n !== 20) || v.charCodeAt(n - 1) !== 90 /* Z */) return Number.NaN;
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84) return Number.NaN; // - - T
  if (v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return Number.NaN; // : :
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 2);
  const day = digits(v, 8, 2);
  const hour = digits(v, 11, 2);
  const minute = digits(v, 14, 2);
  const second = digits(v, 17, 2);
  let milli = 0;
  if (n === 24) {
    if (v.charCodeAt(19) !== 46 /* . */) return Number.NaN;
    milli = digits(v, 20, 3);
  }
  // A failed field is -1, so one range test per field rejects both.
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return Number.NaN;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || milli < 0) return Number.NaN;
  if (day > 28 && day > daysInMonth(year, month)) return Number.NaN;
  return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1_000 + milli;
}

/** `count` decimal digits of `v` from `at` as a number; -1 when one is not a digit. */
function digits(v: string, at: number, count: number): number {
  let x = 0;
  for (let i = at; i < at + count; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    x = x * 10 + d;
  }
  return x;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil), year ≥ 0. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
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
  const json = envelopeJson(data);
  if (json === undefined) return { ok: false, reason: jsonProblem };
  return envelopeOf(json);
}

/** Why the last envelopeJson call returned undefined: the hot path allocates no result object per record. */
let jsonProblem = '';

export function lastJsonProblem(): string {
  return jsonProblem;
}

/**
 * The first half of parseEnvelope: a record's bytes as JSON, undefined (the reason in lastJsonProblem()) when
 * they are too many, not UTF-8 or not JSON. JSON.parse never returns undefined.
 */
export function envelopeJson(data: Uint8Array): unknown {
  if (data.byteLength > MAX_RECORD_BYTES) {
    jsonProblem = `record is ${data.byteLength} bytes; the limit is ${MAX_RECORD_BYTES}`;
    return undefined;
  }
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // No arguments: Buffer#toString's UTF-8 fast path (an encoding argument costs a lookup per record).
  return jsonOf(bytes.toString(), bytes, bytes.length);
}

/** Where envelopeJsonBase64 decodes each record: one buffer, reused (decoding is synchronous). */
const scratch = Buffer.allocUnsafeSlow(MAX_RECORD_BYTES + 1);

/**
 * envelopeJson of a record still in base64 (as Lambda delivers it): decoded into a reused buffer, so the
 * hot path allocates no Buffer per record. Same results and reasons as envelopeJson of the decoded bytes.
 */
export function envelopeJsonBase64(base64: string): unknown {
  const n = scratch.write(base64, 'base64');
  // Filled up: the record is over the limit; the exact path names its size.
  if (n > MAX_RECORD_BYTES) return envelopeJson(Buffer.from(base64, 'base64'));
  return jsonOf(scratch.toString('utf8', 0, n), scratch, n);
}

/** JSON of `text`, the UTF-8 decoding of `bytes[0, end)`. */
function jsonOf(text: string, bytes: Buffer, end: number): unknown {
  // Decoding replaces invalid sequences with U+FFFD: only a text that has one needs the full check (a
  // fatal TextDecoder, or validating every record first, costs the hot path a second pass).
  if (text.includes('\uFFFD') && !isUtf8(bytes.subarray(0, end))) {
    jsonProblem = 'record is not valid UTF-8';
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    jsonProblem = `record is not JSON: ${(e as Error).message}`;
    return undefined;
  }
}

/** The second half of parseEnvelope: the parsed JSON validated as an envelope. */
export function envelopeOf(json: unknown): ParseResult {
  const fast = plainMetric(json);
  if (fast) return { ok: true, record: fast };
  const parsed = Envelope.safeParse(json);
  if (parsed.success) return { ok: true, record: parsed.data };
  return { ok: false, reason: describeIssues(parsed.error.issues) };
}

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

/** A JSON object plainMetricTs accepted: its fields are those of a MetricRecord, `ts` still as sent. */
export interface PlainMetricJson {
  readonly tenant: string;
  readonly signal: string;
  readonly value: number;
  readonly id?: string;
  readonly region?: string;
  readonly dims?: Record<string, string>;
}

/**
 * The common case, a plain metric record, checked without the schema machinery (a third of the
 * consumer's time otherwise): its event time (epoch ms) when `json` is one, else undefined. Anything it
 * is not sure about goes to the schema, which also gives the reason; a property test pins that both agree
 * on every record this accepts (through plainMetric). The consumer reads the fields straight off `json`.
 */
export function plainMetricTs(json: unknown): number | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const o = json as Record<string, unknown>;
  if (o.v !== 1 || o.type !== 'metric') return undefined;
  const { id, tenant, signal, value, region, dims } = o;
  if (!isName(tenant) || !isName(signal)) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  if (id !== undefined && (typeof id !== 'string' || id.length < 1 || id.length > 128)) return undefined;
  if (region !== undefined && !isName(region)) return undefined;
  if (dims !== undefined) {
    if (typeof dims !== 'object' || dims === null || Array.isArray(dims)) return undefined;
    // JSON.parse made a fresh plain object: checked in place, not copied (the consumer never reads dims).
    for (const k in dims) {
      const d = (dims as Record<string, unknown>)[k];
      if (typeof d !== 'string' || d.length > 256) return undefined;
    }
  }
  return eventTimeMs(o.ts);
}

/** plainMetricTs as the schema's output: the record with only its known fields, `ts` in epoch ms. */
export function plainMetric(json: unknown): MetricRecord | undefined {
  const ts = plainMetricTs(json);
  if (ts === undefined) return undefined;
  const { id, tenant, signal, value, region, dims } = json as PlainMetricJson;
  const record: MetricRecord = { v: 1, ts, type: 'metric', tenant, signal, value };
  if (id !== undefined) record.id = id;
  if (region !== undefined) record.region = region;
  if (dims !== undefined) record.dims = dims;
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
