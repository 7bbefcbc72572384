import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RawRecord } from '../../lambdas/core/batch.js';
import { episodeId } from '../../lambdas/core/episodes.js';
import { DynamoDbEpisodeTraceStore } from '../../lambdas/adapters/episode-trace-store.js';
import type { EpisodeTraceStore } from '../../lambdas/core/ports/episode-trace-store.js';
import type { WindowStore } from '../../lambdas/core/ports/window-store.js';
import { processStreamBatch, type BatchOutcome, type StreamBatchDeps } from '../../lambdas/usecases/stream-batch.js';
import { toRawRecord } from '../../lambdas/handlers/stream-consumer.js';
import { kinesisEvent, startHarness, type Harness } from './harness.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-22T06:00:00Z');
const SPIKE_FROM = 150;
const SPIKE_TO = 170;
const SPIKY = 'acme#cqs_p95';
const CALM = 'globex#cqs_p95';

/** Four hours of two keys every 10 s with ±2 % noise; acme is +60 % for 20 minutes from minute 150. */
function series(): Record<string, unknown>[] {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: 240 * 6 }, (_, i) => {
    const minute = Math.floor(i / 6);
    const spike = minute >= SPIKE_FROM && minute < SPIKE_TO ? 1.6 : 1;
    const ts = T0 + i * 10_000;
    return [
      {
        v: 1,
        type: 'metric',
        id: `a-${i}`,
        ts,
        tenant: 'acme',
        signal: 'cqs_p95',
        region: 'kr',
        value: 0.0025 * (1 + 0.02 * (rnd() * 2 - 1)) * spike,
      },
      {
        v: 1,
        type: 'metric',
        id: `g-${i}`,
        ts,
        tenant: 'globex',
        signal: 'cqs_p95',
        region: 'kr',
        value: 0.004 * (1 + 0.02 * (rnd() * 2 - 1)),
      },
    ];
  }).flat();
}

/** One-minute batches (12 records: 6 per key), as a live consumer sees them. */
function batches(): RawRecord[][] {
  const all = series();
  const out: RawRecord[][] = [];
  for (let i = 0; i < all.length; i += 12) out.push(kinesisEvent(all.slice(i, i + 12)).Records.map(toRawRecord));
  return out;
}

/** Delivers a batch as Lambda does: after a partial failure, again from the lowest failed record on. */
async function deliver(records: RawRecord[], deps: StreamBatchDeps, outcomes: BatchOutcome[]): Promise<number> {
  let retries = 0;
  for (let tail = records; ; retries++) {
    if (retries > 5) throw new Error('batch keeps failing');
    const outcome = await processStreamBatch(tail, deps);
    outcomes.push(outcome);
    if (!outcome.failed.length) return retries;
    const failed = new Set(outcome.failed.map((f) => f.position.sequenceNumber));
    tail = tail.slice(tail.findIndex((r) => failed.has(r.position.sequenceNumber)));
  }
}

async function traceItems(h: Harness): Promise<Record<string, unknown>[]> {
  const doc = DynamoDBDocumentClient.from(h.standIns.dynamo);
  const out = await doc.send(
    new ScanCommand({
      TableName: h.table,
      FilterExpression: 'begins_with(pk, :p)',
      ExpressionAttributeValues: { ':p': 'trace#' },
    }),
  );
  return out.Items ?? [];
}

describe('episode traces through the consumer on dynalite', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it(
    'records the spike episode minute by minute (with context and recovery tail), nothing for the calm key, and ' +
      'redeliveries change nothing',
    async () => {
      const deps = h.deps();
      const outcomes: BatchOutcome[] = [];
      const all = batches();
      for (const records of all) {
        await deliver(records, deps, outcomes);
        const wrote = outcomes.at(-1)!.traceWrites > 0;
        const before = wrote ? await traceItems(h) : [];
        // The same batch again (Lambda redelivers after a timeout): skipped, no trace write, items untouched.
        const again = await processStreamBatch(records, deps);
        expect(again).toMatchObject({ processed: 0, traceWrites: 0, stateWrites: 0, failed: [] });
        if (wrote) expect(await traceItems(h)).toEqual(before);
      }
      expect(outcomes.every((o) => !o.failed.length)).toBe(true);

      const items = await traceItems(h);
      const pks = [...new Set(items.map((i) => i.pk as string))];
      expect(pks.every((pk) => pk.startsWith(`trace#${SPIKY}@`))).toBe(true);
      expect(items.some((i) => (i.pk as string).includes(CALM))).toBe(false);

      const anomaly = outcomes.flatMap((o) => o.anomalies).find((a) => a.key === SPIKY)!;
      expect(anomaly).toBeDefined();
      const series = await new DynamoDbEpisodeTraceStore(h.standIns.dynamo, h.table).series(anomaly.id);
      const minutes = series.map((p) => (p.ts - T0) / MINUTE);
      expect(new Set(minutes).size).toBe(minutes.length);
      expect(minutes).toEqual([...minutes].sort((a, b) => a - b));
      const start = (anomaly.start - T0) / MINUTE;
      expect(start).toBeGreaterThanOrEqual(SPIKE_FROM);
      // Pre-start context from the held buckets: observed only.
      const context = series.filter((p) => p.ts < anomaly.start);
      expect(context.length).toBeGreaterThanOrEqual(5);
      expect(
        context.every(
          (p) => p.expected === undefined && p.band === undefined && p.observed > 0.002 && p.observed < 0.003,
        ),
      ).toBe(true);
      // Every scored minute from the first one, through the spike, the recovery and 45 minutes after it.
      const scored = series.filter((p) => p.ts >= anomaly.start);
      expect(scored.every((p) => p.expected !== undefined && p.band !== undefined && p.score !== undefined)).toBe(true);
      expect(scored.map((p) => (p.ts - T0) / MINUTE)).toEqual(
        Array.from({ length: scored.length }, (_, i) => start + i),
      );
      expect(scored.filter((p) => p.ts < T0 + SPIKE_TO * MINUTE).every((p) => p.observed > p.band!.hi)).toBe(true);
      const last = (scored.at(-1)!.ts - T0) / MINUTE;
      expect(last).toBeGreaterThanOrEqual(SPIKE_TO + 45);
      expect(last).toBeLessThan(240 - 3);
      // Numbers are rounded: 5 significant digits.
      expect(scored.every((p) => String(p.observed).replace(/^0\.0*|\./g, '').length <= 5)).toBe(true);

      // The trace write count the bench reports: extra items, in a few batches only.
      const traceWrites = outcomes.map((o) => o.traceWrites);
      const total = traceWrites.reduce((a, b) => a + b, 0);
      expect(total).toBe(series.length);
      const withTraces = traceWrites.filter((n) => n > 0);
      // One-minute batches: one point per batch while tracing, the context once at the opening.
      expect(withTraces).toHaveLength(scored.length);
      expect(Math.max(...withTraces)).toBe(context.length + 1);
      expect(outcomes.reduce((a, o) => a + o.stateWrites, 0)).toBe(2 * all.length);
      // The tail is over: the state no longer carries a cursor.
      expect((await h.readState(SPIKY))!.state.trc).toBeUndefined();
      expect((await h.readState(CALM))!.state.trc).toBeUndefined();
    },
  );

  it(
    'a failed append or a failed save after it is redelivered, ' + 'and the trace ends up exactly as without failures',
    async () => {
      const clean = h.deps();
      const all = batches();
      for (const records of all) await deliver(records, clean, []);
      const expected = await traceItems(h);

      const other = await startHarness();
      try {
        const base = other.deps();
        let appends = 0;
        let saves = 0;
        const injected = { append: 0, save: 0 };
        const traces: EpisodeTraceStore = {
          append: async (id, points) => {
            // Every third append fails (a throttled BatchWriteItem beyond the SDK's retries).
            if (++appends % 3 === 0) {
              injected.append++;
              throw new Error('injected trace write failure');
            }
            return base.traces!.append(id, points);
          },
          series: (id) => base.traces!.series(id),
        };
        let appendedSinceSave = false;
        const windows: WindowStore = {
          loadMany: (k) => base.windows.loadMany(k),
          load: (k) => base.windows.load(k),
          save: async (state, v) => {
            // The save right after a successful trace append fails every other time.
            if (appendedSinceSave && ++saves % 2 === 0) {
              appendedSinceSave = false;
              injected.save++;
              throw new Error('injected state write failure');
            }
            appendedSinceSave = false;
            return base.windows.save(state, v);
          },
        };
        const flaky: StreamBatchDeps = {
          ...base,
          windows,
          traces: {
            append: async (id, p) => (await traces.append(id, p), void (appendedSinceSave = true)),
            series: traces.series,
          },
        };
        let retries = 0;
        for (const records of all) retries += await deliver(records, flaky, []);
        expect(injected.append).toBeGreaterThan(4);
        expect(injected.save).toBeGreaterThan(4);
        expect(retries).toBe(injected.append + injected.save);
        const got = await traceItems(other);
        expect(got).toEqual(expected);
        expect(got.length).toBeGreaterThan(60);
        // The anomaly (and its id) is the same, too.
        const id = (expected[0]!.pk as string).slice('trace#'.length);
        expect(id).toBe(episodeId(SPIKY, Date.parse(id.slice(id.lastIndexOf('@') + 1))));
        expect((await other.deps().traces!.series(id)).length).toBe(expected.length);
      } finally {
        await other.close();
      }
    },
  );
});
