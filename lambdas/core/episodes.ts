import type { AlertKind } from './detection/index.js';
import type { SignalCategory } from './signals.js';
import { HOUR_MS } from './time.js';

/** One scored minute of one key. */
export interface MinuteScore {
  /** Start of the minute (event time). */
  ts: number;
  observed: number;
  expected: number;
  band: { lo: number; hi: number };
  score: number;
  anomalous: boolean;
  /** What the detector's confidence rests on in an anomalous minute (band, shift, stuck, density). */
  kind?: AlertKind;
  /**
   * Cost signals: the detector's slow seasonal expectation (2-day base level plus hour-of-day and
   * day-of-week profiles, `slowReference`), which a creep within the hour hardly moves. Absent: no creep rule.
   */
  reference?: number;
}

export interface TriggerSettings {
  /** Consecutive high-confidence minutes that make an episode a mitigation candidate (seed: 3). */
  highConfidenceMinutes: number;
  /** Confidence at or above which a minute counts as high-confidence. */
  highConfidence: number;
  /** Cost signals: cumulative excess over the baseline across `costWindowMinutes` that triggers (seed: +15 %). */
  costExcess: number;
  costWindowMinutes: number;
  /** Anomalous minutes (not necessarily consecutive) before an episode pages at all; shorter ones are blips. */
  confirmMinutes: number;
  /** Anomalous minutes before the cost rule may trigger: a one-minute cost blip is not an incident. */
  costMinMinutes: number;
  /** Consecutive normal minutes after which an episode has recovered. */
  recoveryMinutes: number;
  /**
   * Cost signals, slow creep (see {@link trackEpisode}): consecutive minutes the cumulative excess over
   * the slow reference across `costWindowMinutes` must stay at or above the creep threshold (with the
   * median minute of the window at least `costExcess` above it) to page.
   */
  creepMinutes: number;
  /**
   * The creep threshold is `costExcess` or this multiple of the highest excess this hour of day reached lately
   * (× `creepDecay` a day: 1.5 × 0.8 > 1, so a peak that recurs daily never beats its own yesterday).
   */
  creepRatio: number;
  /** Per-day decay of the remembered hour-of-day highs of the excess. */
  creepDecay: number;
  /** Minutes of full cost windows learned before the creep rule may page (a whole day: every hour's high). */
  creepLearnMinutes: number;
}

export const DEFAULT_TRIGGER_SETTINGS: TriggerSettings = {
  highConfidenceMinutes: 3,
  highConfidence: 0.8,
  costExcess: 0.15,
  costWindowMinutes: 5,
  confirmMinutes: 3,
  costMinMinutes: 2,
  recoveryMinutes: 5,
  creepMinutes: 5,
  creepRatio: 1.5,
  creepDecay: 0.8,
  creepLearnMinutes: 1440,
};

/** An open episode: one per key until it recovers. */
export interface Episode {
  id: string;
  start: number;
  /** Anomalous minutes so far. */
  minutes: number;
  peakScore: number;
  /** The most anomalous minute: what the alert quotes, and what the detector's confidence rested on. */
  peak: { ts: number; observed: number; expected: number; kind?: AlertKind };
  /** When the episode paged (event time of the confirming minute); absent while it is a blip. */
  confirmedAt?: number;
  /** Opened or confirmed by the creep rule: it stays open while the excess over the slow reference holds. */
  basis?: 'creep';
}

/** Creep rule state of a cost key (bounded: 5 pairs, 24 slots, 5 numbers; ~400 bytes of JSON). */
export interface CreepTracker {
  /** Last minutes: [observed, slow reference] (at most `costWindowMinutes`). */
  w: [number, number][];
  /** Highest cumulative excess per hour of day (UTC) outside episodes, decaying by `creepDecay` a day. */
  hi: number[];
  /** Full-window minutes learned (capped at `creepLearnMinutes`). */
  n: number;
  /** Consecutive minutes at or above the threshold. */
  run: number;
  /** Start of the current elevation (excess ≥ `costExcess`) and its highest excess, learned when it ends. */
  from: number;
  pend: number;
  /** 1 after a page (any trigger) until the excess falls below `costExcess`: one page per elevation. */
  blk: 0 | 1;
}

export interface EpisodeTracker {
  episode?: Episode;
  run: number;
  highRun: number;
  normalRun: number;
  /** Last minutes of a cost signal: [observed, expected]. */
  cost: [number, number][];
  /** Cost signals with a slow reference: the creep rule. */
  creep?: CreepTracker;
}

export type EpisodeEvent =
  | {
      kind: 'confirmed';
      episode: Episode;
      mitigate: boolean;
      trigger: 'high-confidence' | 'cost' | 'sustained';
      costExcess?: number;
      /** Creep trigger: the slow reference the excess is measured from, and the minutes it held above the threshold. */
      creep?: { reference: number; minutes: number; threshold: number };
      at: MinuteScore;
    }
  | { kind: 'recovered'; episode: Episode; at: number };

export function episodeId(key: string, start: number): string {
  return `${key}@${new Date(start).toISOString().slice(0, 16)}Z`;
}

/**
 * Seed 004 §B trigger rules over scored minutes: an anomaly episode opens on the first anomalous
 * minute, pages once (when it is confirmed), and closes after `recoveryMinutes` normal minutes.
 *
 * **Slow cost creep** (cost signals whose minutes carry `reference`): the seed's cost rule (`trigger:
 * 'cost'`) acts only on an episode the detector opened, against `expected`, which absorbs a creep. The
 * creep rule measures the same cumulative excess over `costWindowMinutes` (Σ observed / Σ reference − 1)
 * against the slow seasonal reference and pages (`trigger: 'cost'`, `creep` set, no automatic
 * mitigation) once it has stayed at or above the threshold for `creepMinutes` consecutive minutes while the
 * window's median minute is itself at least `costExcess` above its reference (a blip lifts the cumulative
 * excess for the whole window, not the median). The
 * threshold is `costExcess` (+15 %) or, if higher, `creepMargin` above the highest excess this hour of
 * day (and its neighbours) reached lately outside episodes (decaying by `creepDecay` a day): a daily
 * peak the coarse profile misses raises its own hour's threshold. It waits `creepLearnMinutes` of
 * learning, pages once per elevation (not again until the excess falls below `costExcess`, nor while
 * a paged episode is open), and a creep episode stays open while the excess holds.
 *
 * @example
 * let tracker: EpisodeTracker | undefined;
 * for (const minute of scoredMinutes) {
 *   const step = trackEpisode(tracker, 'acme#cqs_p95', minute, 'usage');
 *   tracker = step.tracker; // step.events: 'confirmed' (page once) or 'recovered'
 * }
 */
export function trackEpisode(
  prev: EpisodeTracker | undefined,
  key: string,
  m: MinuteScore,
  category: SignalCategory,
  s: TriggerSettings = DEFAULT_TRIGGER_SETTINGS,
): { tracker: EpisodeTracker; events: EpisodeEvent[] } {
  const t: EpisodeTracker = prev
    ? {
        ...prev,
        cost: [...prev.cost],
        ...(prev.episode && { episode: { ...prev.episode, peak: { ...prev.episode.peak } } }),
      }
    : { run: 0, highRun: 0, normalRun: 0, cost: [] };
  const events: EpisodeEvent[] = [];
  if (category === 'cost') {
    t.cost.push([m.observed, m.expected]);
    if (t.cost.length > s.costWindowMinutes) t.cost.splice(0, t.cost.length - s.costWindowMinutes);
  }
  const creep = category === 'cost' && m.reference !== undefined ? creepStep(t, m, m.reference, s) : undefined;
  if (m.anomalous) {
    t.run++;
    t.normalRun = 0;
    t.episode ??= {
      id: episodeId(key, m.ts),
      start: m.ts,
      minutes: 0,
      peakScore: 0,
      peak: { ts: m.ts, observed: m.observed, expected: m.expected },
    };
    const ep = t.episode;
    // The detector's confidence spikes where an anomaly starts and may fade while it persists out of
    // band; an episode that opened with high confidence keeps it for as long as it lasts.
    const confident = m.score >= s.highConfidence || (ep.peakScore >= s.highConfidence && t.highRun > 0);
    t.highRun = confident ? t.highRun + 1 : 0;
    ep.minutes++;
    if (m.score >= ep.peakScore) {
      ep.peakScore = m.score;
      ep.peak = { ts: m.ts, observed: m.observed, expected: m.expected, ...(m.kind && { kind: m.kind }) };
    }
  } else {
    t.run = 0;
    t.highRun = 0;
    // A creep episode is not over while the excess over the slow reference holds.
    const holding = t.episode?.basis === 'creep' && creep !== undefined && creep.excess >= s.costExcess;
    if (t.episode) t.normalRun = holding ? 0 : t.normalRun + 1;
  }
  if (creep?.fires && t.episode?.confirmedAt === undefined && m.reference !== undefined) {
    const c = t.creep as CreepTracker;
    t.episode ??= {
      id: episodeId(key, c.from),
      start: c.from,
      minutes: c.run,
      peakScore: m.score,
      peak: { ts: m.ts, observed: m.observed, expected: m.reference },
    };
    t.episode.basis = 'creep';
  }
  const ep = t.episode;
  if (ep && ep.confirmedAt === undefined) {
    const excess = costExcess(t.cost, s.costWindowMinutes);
    const fire = (trigger: 'high-confidence' | 'cost' | 'sustained', mitigate: boolean, creepExcess?: number) => {
      ep.confirmedAt = m.ts;
      const ev: EpisodeEvent = { kind: 'confirmed', episode: { ...ep }, mitigate, trigger, at: m };
      if (creepExcess !== undefined && creep && m.reference !== undefined) {
        ev.costExcess = creepExcess;
        ev.creep = { reference: m.reference, minutes: t.creep?.run ?? 0, threshold: creep.threshold };
      } else if (excess !== undefined) ev.costExcess = excess;
      events.push(ev);
    };
    if (t.highRun >= s.highConfidenceMinutes) fire('high-confidence', true);
    else if (m.anomalous && ep.minutes >= s.costMinMinutes && excess !== undefined && excess >= s.costExcess)
      fire('cost', true);
    else if (creep?.fires) fire('cost', false, creep.excess);
    else if (ep.minutes >= s.confirmMinutes) fire('sustained', false);
  }
  // One page per elevation: a paged episode (any trigger) blocks the creep rule until the excess falls.
  if (t.creep && t.episode?.confirmedAt !== undefined) blockCreep(t.creep);
  if (ep && t.normalRun >= s.recoveryMinutes) {
    events.push({ kind: 'recovered', episode: { ...ep }, at: m.ts });
    delete t.episode;
    t.normalRun = 0;
  }
  return { tracker: t, events };
}

/** Cumulative observed over expected, minus one, across the whole cost window (undefined until it is full). */
function costExcess(cost: readonly [number, number][], window: number): number | undefined {
  if (cost.length < window) return undefined;
  const observed = cost.reduce((a, [o]) => a + o, 0);
  const expected = cost.reduce((a, [, e]) => a + e, 0);
  return expected > 0 ? observed / expected - 1 : undefined;
}

const HOURS = 24;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const round6 = (x: number) => (x === 0 || !Number.isFinite(x) ? 0 : Number(x.toPrecision(6)));
const hourOf = (ts: number) => Math.floor((((ts % (HOURS * HOUR_MS)) + HOURS * HOUR_MS) % (HOURS * HOUR_MS)) / HOUR_MS);

/** Remembers `excess` as this hour's high (the slot decays by `creepDecay` per day, i.e. per 60 minutes in it). */
function learnHigh(c: CreepTracker, ts: number, excess: number, s: TriggerSettings): void {
  const h = hourOf(ts);
  c.hi[h] = round3(Math.max((c.hi[h] ?? 0) * s.creepDecay ** (1 / 60), excess));
}

/** Stops counting (a paged episode is open): no creep page until the excess has fallen below `costExcess`. */
function blockCreep(c: CreepTracker): void {
  c.run = 0;
  c.blk = 1;
}

/** The median of the window's minutes' own excess over their reference. */
function medianMinuteExcess(w: readonly (readonly [number, number])[]): number {
  const x = w.map(([observed, reference]) => (reference > 0 ? observed / reference - 1 : 0)).sort((a, b) => a - b);
  const mid = x.length >> 1;
  return x.length === 0 ? 0 : x.length % 2 ? (x[mid] as number) : ((x[mid - 1] as number) + (x[mid] as number)) / 2;
}

/** One minute of the creep rule: the excess over the slow reference, the threshold, and whether it pages now. */
function creepStep(
  t: EpisodeTracker,
  m: MinuteScore,
  reference: number,
  s: TriggerSettings,
): { excess: number; threshold: number; fires: boolean } | undefined {
  const prev = t.creep;
  const c: CreepTracker = prev
    ? { ...prev, w: [...prev.w], hi: [...prev.hi] }
    : { w: [], hi: new Array<number>(HOURS).fill(0), n: 0, run: 0, from: 0, pend: 0, blk: 0 };
  t.creep = c;
  c.w.push([round6(m.observed), round6(reference)]);
  if (c.w.length > s.costWindowMinutes) c.w.splice(0, c.w.length - s.costWindowMinutes);
  const excess = costExcess(c.w, s.costWindowMinutes);
  if (excess === undefined || !(reference > 0)) return undefined;
  const h = hourOf(m.ts);
  const near = Math.max(c.hi[h] ?? 0, c.hi[(h + 1) % HOURS] ?? 0, c.hi[(h + HOURS - 1) % HOURS] ?? 0);
  const threshold = Math.max(s.costExcess, s.creepRatio * near);
  const episodeOpen = t.episode !== undefined;
  if (excess >= s.costExcess) {
    // Elevated: its highest excess is learned as its hour's high only once it is over (a daily peak, a
    // blip); a creep that holds is not learned while it holds.
    if (c.pend === 0) c.from = m.ts;
    c.pend = round3(Math.max(c.pend, excess));
  } else {
    if (c.pend > 0 && !c.blk) learnHigh(c, c.from, c.pend, s);
    c.pend = 0;
    if (t.episode?.confirmedAt === undefined) c.blk = 0;
    if (!episodeOpen) learnHigh(c, m.ts, excess, s);
  }
  if (c.n < s.creepLearnMinutes) {
    // Learning every hour's normal high first (no page yet).
    c.n++;
    c.run = 0;
    return { excess, threshold, fires: false };
  }
  // Sustained, not one spike: a blip keeps the cumulative excess up for the whole cost window, but not the
  // median minute.
  const sustained = medianMinuteExcess(c.w) >= s.costExcess;
  c.run = excess >= threshold && sustained && !c.blk ? c.run + 1 : 0;
  return { excess, threshold, fires: c.run >= s.creepMinutes };
}
