import { describe, expect, it } from 'vitest';
import { planEpisodeTrace, type TraceCursor, type TracePoint } from '../../../lambdas/core/episode-trace.js';
import {
  episodeId,
  trackEpisode,
  type EpisodeEvent,
  type EpisodeTracker,
  type MinuteScore,
} from '../../../lambdas/core/episodes.js';
import type { MinuteBucket } from '../../../lambdas/core/key-state.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-22T10:00:00Z');
const KEY = 'acme#search_qps';
const at = (i: number) => T0 + i * MINUTE;

function minute(i: number, anomalous: boolean): MinuteScore {
  return anomalous
    ? {
        ts: at(i),
        observed: 180.123456,
        expected: 100.0004,
        band: { lo: 90.00001, hi: 110.00001 },
        score: 0.951234,
        anomalous,
      }
    : { ts: at(i), observed: 100.5, expected: 100, band: { lo: 90, hi: 110 }, score: 0.1, anomalous };
}

/** Buckets the state holds around minute index `i`: the 9 closed minutes before it (observed 99). */
function bucketsBefore(i: number): MinuteBucket[] {
  return Array.from({ length: 9 }, (_, k) => ({ m: at(i - 9 + k) / MINUTE, n: 4, sum: 396, min: 98, max: 100 }));
}

/**
 * Runs minute flags through the episode rules in batches of `batch` minutes, as the consumer does, and collects the
 * traces.
 */
function run(flags: boolean[], batch = 1, signal = 'search_qps') {
  let trk: EpisodeTracker | undefined;
  let trc: TraceCursor | undefined;
  const traces = new Map<string, Map<number, TracePoint>>();
  const cursors: (TraceCursor | undefined)[] = [];
  let writes = 0;
  for (let b = 0; b < flags.length; b += batch) {
    const minutes = flags.slice(b, b + batch).map((f, k) => minute(b + k, f));
    const prev = { ...(trk && { trk }), ...(trc && { trc }) };
    const events: EpisodeEvent[] = [];
    for (const m of minutes) {
      const r = trackEpisode(trk, KEY, m, 'usage');
      trk = r.tracker;
      events.push(...r.events);
    }
    const plan = planEpisodeTrace({ key: KEY, signal, prev, minutes, events, buckets: bucketsBefore(b) });
    trc = plan.cursor;
    cursors.push(trc);
    for (const a of plan.appends) {
      writes += a.points.length;
      const t = traces.get(a.episodeId) ?? new Map<number, TracePoint>();
      for (const p of a.points) t.set(p.ts, p);
      traces.set(a.episodeId, t);
    }
  }
  return { traces, cursors, trc, writes, trk };
}

const normal = (n: number) => Array<boolean>(n).fill(false);
const anomalous = (n: number) => Array<boolean>(n).fill(true);
const minutesOf = (t: Map<number, TracePoint> | undefined) =>
  [...(t?.keys() ?? [])].sort((a, b) => a - b).map((ts) => (ts - T0) / MINUTE);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('episode traces', () => {
  it('records nothing for a key that is never in an episode', () => {
    const { traces, writes, cursors } = run(normal(120));
    expect(traces.size).toBe(0);
    expect(writes).toBe(0);
    expect(cursors.every((c) => c === undefined)).toBe(true);
  });

  it(
    'the opening includes the minutes before it that the state still holds (observed only), then every minute of ' +
      'the episode',
    () => {
      const { traces } = run([...normal(30), ...anomalous(10), ...normal(70)]);
      const id = episodeId(KEY, at(30));
      const trace = traces.get(id)!;
      expect(trace).toBeDefined();
      // Context: the 9 held buckets before minute 30, observed = sum / n, nothing else.
      for (const i of range(21, 29)) expect(trace.get(at(i))).toEqual({ ts: at(i), observed: 99 });
      expect(trace.has(at(20))).toBe(false);
      // During the episode: the scored minute, rounded.
      for (const i of range(30, 39))
        expect(trace.get(at(i))).toEqual({
          ts: at(i),
          observed: 180.12,
          expected: 100,
          band: { lo: 90, hi: 110 },
          score: 0.951,
        });
    },
  );

  it('goes on for 45 minutes after the episode closes, then stops and forgets the cursor', () => {
    const { traces, cursors, trc } = run([...normal(30), ...anomalous(10), ...normal(70)]);
    const trace = traces.get(episodeId(KEY, at(30)))!;
    // Recovered after 5 normal minutes (minute 44): the tail runs through minute 44 + 45 = 89.
    expect(minutesOf(trace)).toEqual(range(21, 89));
    expect(cursors[44]).toEqual({ start: at(30), until: at(89) });
    expect(cursors[89]).toEqual({ start: at(30), until: at(89) });
    expect(cursors[90]).toBeUndefined();
    expect(trc).toBeUndefined();
    // While the episode is open the tracker names it: no cursor is kept.
    expect(cursors.slice(30, 44).every((c) => c === undefined)).toBe(true);
  });

  it('gives the same trace whatever the batch boundaries', () => {
    const flags = [...normal(30), ...anomalous(10), ...normal(70)];
    const one = run(flags, 1).traces;
    for (const batch of [7, 60]) {
      const other = run(flags, batch).traces;
      expect([...other.keys()]).toEqual([...one.keys()]);
      // Scored minutes are the same; context from buckets depends on what the state holds, so compare the episode and
      // tail.
      const id = [...one.keys()][0]!;
      expect(minutesOf(other.get(id)).filter((m) => m >= 30)).toEqual(range(30, 89));
    }
  });

  it('in a batch that spans the opening, earlier scored minutes are context with their band', () => {
    const { traces } = run([...normal(30), ...anomalous(10), ...normal(10)], 50);
    const trace = traces.get(episodeId(KEY, at(30)))!;
    expect(trace.get(at(29))).toEqual({
      ts: at(29),
      observed: 100.5,
      expected: 100,
      band: { lo: 90, hi: 110 },
      score: 0.1,
    });
    expect(minutesOf(trace)[0]).toBe(15);
  });

  it('a new episode on the same key starts a new trace and ends the tail of the previous one', () => {
    const { traces, trc } = run([...normal(30), ...anomalous(5), ...normal(20), ...anomalous(5), ...normal(100)]);
    const first = traces.get(episodeId(KEY, at(30)))!;
    const second = traces.get(episodeId(KEY, at(55)))!;
    expect(traces.size).toBe(2);
    // First: recovered at minute 39, tail until the second opens at 55.
    expect(minutesOf(first)).toEqual(range(21, 54));
    // Second: context (the held buckets 46..54), its minutes, recovered at 64, 45-minute tail.
    expect(minutesOf(second)).toEqual(range(46, 109));
    expect(trc).toBeUndefined();
  });

  it('a blip that never pages is traced too (it is an episode until it recovers)', () => {
    const { traces } = run([...normal(30), true, ...normal(60)]);
    expect(minutesOf(traces.get(episodeId(KEY, at(30))))).toEqual(range(21, 80));
  });

  it('continues an episode open in a state saved before traces existed (no cursor field), without context', () => {
    const trk = trackEpisode(undefined, KEY, minute(0, true), 'usage').tracker;
    const minutes = [minute(1, true), minute(2, false)];
    const plan = planEpisodeTrace({
      key: KEY,
      signal: 'search_qps',
      prev: { trk },
      minutes,
      events: [],
      buckets: bucketsBefore(1),
    });
    expect(plan).toEqual({
      appends: [
        {
          episodeId: episodeId(KEY, at(0)),
          points: [expect.objectContaining({ ts: at(1) }), expect.objectContaining({ ts: at(2) })],
        },
      ],
    });
  });

  it('treats a malformed cursor as not tracing', () => {
    const plan = planEpisodeTrace({
      key: KEY,
      signal: 'search_qps',
      prev: { trc: { start: 'x', until: null } as unknown as TraceCursor },
      minutes: [minute(0, false)],
      events: [],
      buckets: [],
    });
    expect(plan).toEqual({ appends: [] });
  });

  it('engagement keys take no bucket context: their scored value is a 10-minute mean, not a minute', () => {
    const { traces } = run([...normal(30), ...anomalous(3), ...normal(10)], 1, 'engagement');
    expect(minutesOf(traces.get(episodeId(KEY, at(30))))[0]).toBe(30);
  });

  it('keeps the stored cursor small', () => {
    const { cursors } = run([...normal(30), ...anomalous(5), ...normal(20)]);
    expect(JSON.stringify(cursors.at(-1)).length).toBeLessThan(48);
  });
});
