import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Envelope,
  parseEnvelope,
  partitionKeyOf,
  plainMetric,
  type ParseResult,
} from '../../../lambdas/core/envelope.js';
import { DESIGN_ACTIVITY, DESIGN_CHANGE, DESIGN_METRIC, json, utf8 } from './fixtures.js';

const metric = JSON.parse(DESIGN_METRIC) as Record<string, unknown>;
const change = JSON.parse(DESIGN_CHANGE) as Record<string, unknown>;

function accepted(r: ParseResult) {
  if (!r.ok) throw new Error(`expected the record to parse, got: ${r.reason}`);
  return r.record;
}

function rejected(r: ParseResult): string {
  if (r.ok) throw new Error(`expected the record to be rejected, got ${JSON.stringify(r.record)}`);
  return r.reason;
}

describe('parseEnvelope — the contract examples', () => {
  it('parses the metric example and normalises its ISO ts to epoch ms', () => {
    const r = accepted(parseEnvelope(utf8(DESIGN_METRIC)));
    expect(r).toMatchObject({
      type: 'metric',
      id: 'm-8f2c',
      ts: 1795341603120,
      tenant: 'acme',
      signal: 'cqs_p95',
      value: 0.0037,
      region: 'kr',
      dims: { service: 'search' },
    });
  });

  it('parses the activity example with an epoch-ms ts unchanged', () => {
    const r = accepted(parseEnvelope(utf8(DESIGN_ACTIVITY)));
    expect(r).toMatchObject({
      type: 'activity',
      id: 'a-1',
      ts: 1795341603120,
      key: 'user-42',
      tenant: 'podcast',
      action: 'pause',
    });
  });

  it('parses the change example with ts and until both as epoch ms', () => {
    const r = accepted(parseEnvelope(utf8(DESIGN_CHANGE)));
    expect(r).toMatchObject({
      type: 'change',
      id: 'rel-381',
      tenant: 'acme',
      change: 'release',
      ts: Date.UTC(2026, 10, 22, 9, 40),
      until: Date.UTC(2026, 10, 22, 10, 10),
      region: 'kr',
      title: 'search 2.3',
    });
  });

  it('gives the same epoch ms for the same instant written with a different zone offset', () => {
    const r = accepted(parseEnvelope(json({ ...metric, ts: '2026-11-22T19:00:03.120+09:00' })));
    expect(r.ts).toBe(1795341603120);
  });

  it('uses tenant as partition key for metric/change and key for activity', () => {
    expect(partitionKeyOf(accepted(parseEnvelope(utf8(DESIGN_METRIC))))).toBe('acme');
    expect(partitionKeyOf(accepted(parseEnvelope(utf8(DESIGN_ACTIVITY))))).toBe('user-42');
    expect(partitionKeyOf(accepted(parseEnvelope(utf8(DESIGN_CHANGE))))).toBe('acme');
  });
});

describe('parseEnvelope — invalid records give a reason naming the field', () => {
  it.each([
    ['a word', 'yesterday'],
    ['ISO without a time zone', '2026-11-22T10:00:03'],
    ['epoch seconds instead of ms', 1795341603],
    ['an impossible date', '2026-13-45T10:00:00Z'],
  ])('rejects ts given as %s', (_what, ts) => {
    expect(rejected(parseEnvelope(json({ ...metric, ts })))).toMatch(/^ts: /);
  });

  it("rejects a tenant containing '#' (it would collide with the key separator)", () => {
    expect(rejected(parseEnvelope(json({ ...metric, tenant: 'acme#evil' })))).toMatch(/^tenant: /);
  });

  it.each(['1e999', '-1e999', '1.7976931348623159e308'])(
    'rejects a metric whose raw JSON value %s overflows to a non-finite number, naming value',
    (v) => {
      // JSON.parse turns these into ±Infinity: they must never be folded.
      const line = DESIGN_METRIC.replace('"value":0.0037', `"value":${v}`);
      expect(line).toContain(`"value":${v}`);
      expect(rejected(parseEnvelope(utf8(line)))).toMatch(/^value: /);
      expect(plainMetric(JSON.parse(line))).toBeUndefined();
    },
  );

  it('rejects a value given as a string', () => {
    expect(rejected(parseEnvelope(json({ ...metric, value: '0.0037' })))).toMatch(/^value: .*number/);
  });

  it('rejects an unknown type', () => {
    expect(rejected(parseEnvelope(json({ ...metric, type: 'gauge' })))).toMatch(/^type: /);
  });

  it('rejects bytes that are not JSON', () => {
    expect(rejected(parseEnvelope(utf8('{"v":1,"type":"metric"')))).toMatch(/not JSON/);
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(rejected(parseEnvelope(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])))).toMatch(/UTF-8/);
  });

  it('rejects a record over 64 KB and accepts one of exactly 64 KB', () => {
    // Trailing whitespace is valid JSON, so the record is otherwise identical.
    const padTo = (bytes: number) => utf8(DESIGN_METRIC + ' '.repeat(bytes - Buffer.byteLength(DESIGN_METRIC)));
    const exact = padTo(64 * 1024);
    expect(exact.byteLength).toBe(65536);
    expect(parseEnvelope(exact).ok).toBe(true);
    const over = padTo(64 * 1024 + 1);
    expect(over.byteLength).toBe(65537);
    expect(rejected(parseEnvelope(over))).toMatch(/65537 bytes.*65536/);
  });

  it('rejects a change whose until is before its ts, naming until', () => {
    expect(rejected(parseEnvelope(json({ ...change, until: '2026-11-22T09:39:59Z' })))).toMatch(/^until: /);
  });

  it('accepts a change whose until equals its ts', () => {
    expect(parseEnvelope(json({ ...change, until: change.ts })).ok).toBe(true);
  });

  it('allows tenant "*" on a change record (all tenants)', () => {
    expect(accepted(parseEnvelope(json({ ...change, tenant: '*' }))).tenant).toBe('*');
  });

  it('rejects tenant "*" on a metric record', () => {
    expect(rejected(parseEnvelope(json({ ...metric, tenant: '*' })))).toMatch(/^tenant: /);
  });

  it('names every offending field when several are wrong', () => {
    const reason = rejected(parseEnvelope(json({ ...metric, tenant: 'a#b', value: 'x' })));
    expect(reason).toMatch(/tenant: /);
    expect(reason).toMatch(/value: /);
  });

  it('rejects an unknown change kind, naming change', () => {
    expect(rejected(parseEnvelope(json({ ...change, change: 'deploy' })))).toMatch(/^change: /);
  });
});

describe('plainMetric (the fast path) agrees with the schema', () => {
  const valid = {
    v: 1,
    type: 'metric',
    id: 'm-1',
    ts: '2026-11-22T10:00:03.120Z',
    tenant: 'acme',
    signal: 'cqs_p95',
    value: 0.0037,
    region: 'kr',
    dims: { service: 'search' },
  };
  const junk = fc.oneof(
    fc.constantFrom(
      undefined,
      null,
      '',
      'a#b',
      ' x',
      'x'.repeat(65),
      'x'.repeat(129),
      2,
      '1',
      'activity',
      'soon',
      '2026-11-22T10:00:03',
      '2026-11-22T10:00:03+09:00',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1_000,
      8e12,
      [],
      {},
      { a: 1 },
      { a: 'x'.repeat(257) },
    ),
    fc.string({ maxLength: 6 }),
    fc.double(),
    fc.integer(),
  );
  // A valid record with a few fields replaced by junk, removed, or an extra field added.
  const candidate = fc
    .array(fc.tuple(fc.constantFrom(...Object.keys(valid), 'extra'), junk, fc.boolean()), { maxLength: 3 })
    .map((edits) => {
      const o: Record<string, unknown> = { ...valid };
      for (const [field, value, remove] of edits) {
        if (remove) delete o[field];
        else o[field] = value;
      }
      return o;
    });

  it('accepts exactly what the schema accepts, with the same result (both directions)', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(candidate, (o) => {
        const fast = plainMetric(o);
        const slow = Envelope.safeParse(o);
        if (fast) {
          accepted++;
          expect(slow.success && slow.data).toEqual(fast);
        } else {
          rejected++;
          // Whatever the fast path leaves to the schema, the schema must reject too (these are all metric-shaped).
          if (o.v === 1 && o.type === 'metric') expect(slow.success).toBe(false);
        }
      }),
      { numRuns: 5000, seed: 7 },
    );
    // The generator must reach both sides often enough for the agreement to mean something.
    expect(accepted).toBeGreaterThan(25);
    expect(rejected).toBeGreaterThan(25);
  });

  it('agrees with the schema on every value, non-finite ones included', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double(),
          fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e308, -0),
        ),
        (value) => {
          const o = { ...valid, value };
          const fast = plainMetric(o);
          const slow = Envelope.safeParse(o);
          expect(fast !== undefined).toBe(slow.success);
          expect(fast !== undefined).toBe(Number.isFinite(value));
        },
      ),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('takes the common metric record', () => {
    expect(
      plainMetric({
        v: 1,
        type: 'metric',
        id: 'm-1',
        ts: '2026-11-22T10:00:03.120Z',
        tenant: 'acme',
        signal: 'cqs_p95',
        value: 0.0037,
        region: 'kr',
      }),
    ).toEqual({
      v: 1,
      type: 'metric',
      id: 'm-1',
      ts: Date.parse('2026-11-22T10:00:03.120Z'),
      tenant: 'acme',
      signal: 'cqs_p95',
      value: 0.0037,
      region: 'kr',
    });
  });
});
