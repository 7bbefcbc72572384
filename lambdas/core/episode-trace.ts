import { roundSig } from './detection/numeric.js';
import { episodeId, type EpisodeEvent, type EpisodeTracker, type MinuteScore } from './episodes.js';
import { ENGAGEMENT_SIGNAL } from './observations.js';
import type { MinuteBucket } from './key-state.js';
import { MINUTE_MS } from './time.js';

/**
 * Episode traces: the minute series of one anomaly episode as the consumer scored it, so the
 * root-cause report can chart observed against the expected band around the episode.
 *
 * A trace starts when an episode opens (with the minutes before it that the window state still
 * holds), takes every scored minute while the episode is open, and goes on for `tailMinutes` after
 * it closes, so the chart shows the recovery and the staged rollback. Keys that are in no episode
 * and in no tail record nothing.
 */

/** One minute of a trace. Context minutes from before the episode carry the observed value only. */
export interface TracePoint {
  /** Start of the minute (event time, epoch ms). */
  ts: number;
  observed: number;
  expected?: number;
  band?: { lo: number; hi: number };
  /** The detector's confidence for that minute. */
  score?: number;
}

/**
 * Kept in the key's state (`trc`) only while a closed episode's tail is still being recorded: the
 * episode's start (its id is `episodeId(key, start)`) and the last minute to record. While an
 * episode is open, the tracker's episode says what is being traced, so nothing more is kept.
 */
export interface TraceCursor {
  start: number;
  /** Last minute (event time, inclusive) of the tail. */
  until: number;
}

export interface EpisodeTraceSettings {
  /** Minutes recorded after the episode has recovered. */
  tailMinutes: number;
  /** Minutes before the episode's first minute included when it opens (as far as the state still holds them). */
  contextMinutes: number;
}

export const DEFAULT_EPISODE_TRACE_SETTINGS: EpisodeTraceSettings = Object.freeze({
  tailMinutes: 45,
  contextMinutes: 15,
});

/** Points to add to one episode's trace, ascending by minute, one per minute. */
export interface TraceAppend {
  episodeId: string;
  points: TracePoint[];
}

export interface EpisodeTracePlan {
  /** What the key's state keeps for the next batch (absent: no tail being recorded). */
  cursor?: TraceCursor;
  appends: TraceAppend[];
}

export interface EpisodeTraceInput {
  key: string;
  signal: string;
  /** The key's detection state before this batch's minutes were scored. */
  prev: { trk?: EpisodeTracker; trc?: TraceCursor } | undefined;
  /** This batch's scored minutes of the key, ascending (what `scoreWindows` returned). */
  minutes: readonly MinuteScore[];
  /** This batch's episode events of the key. */
  events: readonly EpisodeEvent[];
  /**
   * Minute buckets the window state holds (before and after folding this batch; a later entry for
   * the same minute wins): the observed values before an episode that opens in this batch.
   */
  buckets: readonly MinuteBucket[];
}

const VALUE_DIGITS = 5;
const SCORE_DIGITS = 3;

/**
 * Which minutes of one key go to which episode's trace, and what the key's state keeps for the next batch. Pure.
 *
 * @example
 * const plan = planEpisodeTrace({
 *   key: state.key,
 *   signal: state.signal,
 *   prev: {},
 *   minutes,
 *   events,
 *   buckets: state.buckets,
 * });
 * for (const a of plan.appends) await traces.append(a.episodeId, a.points); // plan.cursor: kept in the key state
 */
export function planEpisodeTrace(
  input: EpisodeTraceInput,
  settings: EpisodeTraceSettings = DEFAULT_EPISODE_TRACE_SETTINGS,
): EpisodeTracePlan {
  const { key, minutes } = input;
  const prevEpisode = input.prev?.trk?.episode;
  let open: number | undefined = prevEpisode && Number.isFinite(prevEpisode.start) ? prevEpisode.start : undefined;
  let tail = open === undefined ? validCursor(input.prev?.trc) : undefined;
  const recoveredAt = new Map<number, number>();
  for (const e of input.events) if (e.kind === 'recovered') recoveredAt.set(e.at, e.episode.start);

  const traces = new Map<number, Map<number, TracePoint>>();
  const add = (start: number, p: TracePoint) => {
    let t = traces.get(start);
    if (!t) traces.set(start, (t = new Map()));
    t.set(p.ts, p);
  };

  for (let i = 0; i < minutes.length; i++) {
    const m = minutes[i]!;
    // The episode rule (episodes.ts): an episode opens on the first anomalous minute while none is open.
    if (open === undefined && m.anomalous) {
      open = m.ts;
      // A new episode on the key starts its own trace; the previous one's tail ends here.
      tail = undefined;
      for (const p of contextBefore(input, i, settings)) add(open, p);
    }
    if (open !== undefined) add(open, tracePoint(m));
    else if (tail) {
      if (m.ts <= tail.until) add(tail.start, tracePoint(m));
      else tail = undefined;
    }
    const recovered = recoveredAt.get(m.ts);
    if (recovered !== undefined) {
      tail = { start: recovered, until: m.ts + settings.tailMinutes * MINUTE_MS };
      open = undefined;
    }
  }

  const appends: TraceAppend[] = [...traces].map(([start, points]) => ({
    episodeId: episodeId(key, start),
    points: [...points.values()].sort((a, b) => a.ts - b.ts),
  }));
  return tail ? { cursor: tail, appends } : { appends };
}

/**
 * The minutes before an episode's first minute (`minutes[first]`): this batch's scored minutes in
 * full, and before them the observed values of the buckets the state still holds. An engagement
 * key is scored on a 10-minute mean, not on single minutes, so its buckets are no context.
 */
function contextBefore(input: EpisodeTraceInput, first: number, settings: EpisodeTraceSettings): TracePoint[] {
  const start = input.minutes[first]!.ts;
  const from = start - settings.contextMinutes * MINUTE_MS;
  const points = new Map<number, TracePoint>();
  if (input.signal !== ENGAGEMENT_SIGNAL) {
    for (const b of input.buckets) {
      const ts = b.m * MINUTE_MS;
      if (ts >= from && ts < start && b.n > 0) points.set(ts, { ts, observed: round(b.sum / b.n) });
    }
  }
  for (let j = 0; j < first; j++) {
    const m = input.minutes[j]!;
    if (m.ts >= from) points.set(m.ts, tracePoint(m));
  }
  return [...points.values()];
}

/** A scored minute as a trace point, rounded (a chart needs no more digits); non-finite parts are left out. */
export function tracePoint(m: MinuteScore): TracePoint {
  const p: TracePoint = { ts: m.ts, observed: round(m.observed) };
  if (Number.isFinite(m.expected)) p.expected = round(m.expected);
  if (m.band && Number.isFinite(m.band.lo) && Number.isFinite(m.band.hi))
    p.band = { lo: round(m.band.lo), hi: round(m.band.hi) };
  if (Number.isFinite(m.score)) p.score = roundSig(m.score, SCORE_DIGITS);
  return p;
}

function round(x: number): number {
  return roundSig(x, VALUE_DIGITS);
}

/** A stored cursor, or undefined when it is missing (older state items) or malformed: not tracing. */
function validCursor(c: TraceCursor | undefined): TraceCursor | undefined {
  return c && typeof c === 'object' && Number.isFinite(c.start) && Number.isFinite(c.until)
    ? { start: c.start, until: c.until }
    : undefined;
}
