import { createHash } from 'node:crypto';
import { search } from '@aws-lambda-powertools/jmespath';
import { parseEnvelope, partitionKeyOf, streamChangeProblem, type Envelope } from '../envelope.js';
import type { MappingRule, UsageSourceConfig } from './source-config.js';
import { MINUTE_MS } from '../time.js';

/** The event-time range one poll asks the source for: [from, to) in epoch ms. */
export interface PollWindow {
  readonly from: number;
  readonly to: number;
}

/** A record ready for PutRecords: the envelope line and its contract-1 partition key. */
export interface MappedRecord {
  readonly line: string;
  readonly partitionKey: string;
  readonly record: Envelope;
}

/** An item (or a whole response) that could not become an envelope, with the reason. */
export interface RejectedItem {
  readonly reason: string;
  /** Index of the mapping rule, or undefined when the response itself could not be mapped. */
  readonly rule?: number;
  readonly item: unknown;
}

export interface MappedResponse {
  readonly records: MappedRecord[];
  readonly rejected: RejectedItem[];
}

/**
 * The window a scheduled run polls: the schedule step that ends nearest to the scheduled time (so a
 * few seconds of jitter either way land in the same window), shifted back by the source's lag.
 * Consecutive runs therefore poll consecutive, non-overlapping windows.
 */
export function pollWindow(
  scheduledAt: number,
  source: Pick<UsageSourceConfig, 'scheduleMinutes' | 'lagMinutes'>,
): PollWindow {
  const step = source.scheduleMinutes * MINUTE_MS;
  const to = Math.round(scheduledAt / step) * step - source.lagMinutes * MINUTE_MS;
  return { from: to - step, to };
}

/** The source URL with the window placeholders filled in (URL-encoded). */
export function sourceUrl(url: string, window: PollWindow): string {
  const values: Record<string, string> = {
    windowStart: new Date(window.from).toISOString(),
    windowEnd: new Date(window.to).toISOString(),
    windowStartEpoch: String(Math.floor(window.from / 1000)),
    windowEndEpoch: String(Math.floor(window.to / 1000)),
    windowStartMs: String(window.from),
    windowEndMs: String(window.to),
  };
  return url.replace(/\{([A-Za-z]+)\}/g, (m, name: string) => (name in values ? encodeURIComponent(values[name]!) : m));
}

/**
 * The next page's URL, or undefined when the response says there is none. A `next` URL on another
 * origin is refused: the request would carry the source's credential there.
 */
export function nextPageUrl(
  source: Pick<UsageSourceConfig, 'pagination'>,
  body: unknown,
  currentUrl: string,
): string | undefined {
  const p = source.pagination;
  if (!p) return undefined;
  const next = search(p.next, body as never);
  if (next === null || next === undefined || next === '' || next === false) return undefined;
  if (typeof next !== 'string' && typeof next !== 'number')
    throw new Error(`pagination.next gave ${typeof next}, not a URL or cursor`);
  const current = new URL(currentUrl);
  if (p.param) {
    current.searchParams.set(p.param, String(next));
    return current.toString();
  }
  const url = new URL(String(next), current);
  if (url.origin !== current.origin)
    throw new Error(`pagination.next points to another origin (${url.origin}); refusing to send the credential there`);
  return url.toString();
}

/**
 * Turn one response body into envelope records with every mapping rule. Items that do not make a valid
 * envelope are rejected with the consumer's own validation reason, so nothing is dropped silently.
 *
 * @example
 * const { records, rejected } = mapResponse(source, await response.json());
 * // records: envelopes to put on the stream; rejected: items with the consumer's validation reason
 */
export function mapResponse(source: Pick<UsageSourceConfig, 'name' | 'mapping'>, body: unknown): MappedResponse {
  const records: MappedRecord[] = [];
  const rejected: RejectedItem[] = [];
  source.mapping.forEach((rule, index) => {
    let selected: unknown;
    try {
      selected = search(rule.records, body as never);
    } catch (e) {
      rejected.push({ reason: `mapping[${index}].records failed: ${(e as Error).message}`, rule: index, item: body });
      return;
    }
    if (selected === null || selected === undefined) {
      rejected.push({
        reason:
          `mapping[${index}].records (${rule.records}) selected nothing: the response does not have the expected ` +
          `shape`,
        rule: index,
        item: body,
      });
      return;
    }
    for (const item of Array.isArray(selected) ? selected : [selected]) {
      const out = mapItem(source.name, rule, item);
      if ('reason' in out) rejected.push({ reason: `mapping[${index}]: ${out.reason}`, rule: index, item });
      else records.push(out);
    }
  });
  return { records, rejected };
}

function mapItem(sourceName: string, rule: MappingRule, item: unknown): MappedRecord | { reason: string } {
  const fields: Record<string, unknown> = { v: 1, type: rule.type };
  for (const [field, expr] of Object.entries(rule.fields)) {
    let value: unknown;
    try {
      value = search(expr, item as never);
    } catch (e) {
      return { reason: `${field} (${expr}) failed: ${(e as Error).message}` };
    }
    // JMESPath gives null for a missing member: an absent optional field, or a missing required one the schema names.
    if (value !== null && value !== undefined) fields[field] = normalise(field, value);
  }
  if (fields.id === undefined) fields.id = derivedId(sourceName, fields);
  else fields.id = `${sourceName}:${String(fields.id)}`;
  const line = JSON.stringify(fields);
  const parsed = parseEnvelope(Buffer.from(line));
  if (!parsed.ok) return { reason: parsed.reason };
  // A vendor response must not mute alerting beyond one tenant or for longer than a stream change may last.
  const problem = parsed.record.type === 'change' ? streamChangeProblem(parsed.record) : undefined;
  if (problem) return { reason: problem };
  return { line, partitionKey: partitionKeyOf(parsed.record), record: parsed.record };
}

const EPOCH_SECONDS = { min: 946_684_800, max: 7_258_118_400 };
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Vendors' two most common deviations from the envelope: epoch seconds for time (seconds in
 * 2000..2200 cannot be epoch milliseconds in that range, so the reading is unambiguous) and decimal
 * strings for amounts.
 */
function normalise(field: string, value: unknown): unknown {
  if (
    (field === 'ts' || field === 'until') &&
    typeof value === 'number' &&
    value >= EPOCH_SECONDS.min &&
    value <= EPOCH_SECONDS.max
  )
    return Math.round(value * 1000);
  if (field === 'value' && typeof value === 'string' && DECIMAL.test(value.trim())) return Number(value);
  return value;
}

/**
 * The record's identity, not its value: a later poll of the same window that reports a revised
 * amount is dropped by the consumer's id dedupe instead of counted twice.
 */
function derivedId(sourceName: string, f: Record<string, unknown>): string {
  const identity = [
    f.type,
    f.tenant,
    f.signal,
    f.key,
    f.action,
    f.change,
    f.ts,
    f.region,
    f.dims === undefined ? undefined : sortedEntries(f.dims),
  ];
  return `${sourceName}:${createHash('sha256').update(JSON.stringify(identity)).digest('base64url').slice(0, 22)}`;
}

function sortedEntries(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)) : v;
}
