import type { SignalCategory } from './signals.js';

/** One scored minute of one key. */
export interface MinuteScore {
  /** Start of the minute (event time). */
  ts: number;
  observed: number;
  expected: number;
  band: { lo: number; hi: number };
  score: number;
  anomalous: boolean;
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
}

export const DEFAULT_TRIGGER_SETTINGS: TriggerSettings = {
  highConfidenceMinutes: 3,
  highConfidence: 0.8,
  costExcess: 0.15,
  costWindowMinutes: 5,
  confirmMinutes: 3,
  costMinMinutes: 2,
  recoveryMinutes: 5,
};

/** An open episode: one per key until it recovers. */
export interface Episode {
  id: string;
  start: number;
  /** Anomalous minutes so far. */
  minutes: number;
  peakScore: number;
  /** The most anomalous minute: what the alert quotes. */
  peak: { ts: number; observed: number; expected: number };
  /** When the episode paged (event time of the confirming minute); absent while it is a blip. */
  confirmedAt?: number;
}

export interface EpisodeTracker {
  episode?: Episode;
  run: number;
  highRun: number;
  normalRun: number;
  /** Last minutes of a cost signal: [observed, expected]. */
  cost: [number, number][];
}

export type EpisodeEvent =
  | {
      kind: 'confirmed';
      episode: Episode;
      mitigate: boolean;
      trigger: 'high-confidence' | 'cost' | 'sustained';
      costExcess?: number;
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
      ep.peak = { ts: m.ts, observed: m.observed, expected: m.expected };
    }
  } else {
    t.run = 0;
    t.highRun = 0;
    if (t.episode) t.normalRun++;
  }
  const ep = t.episode;
  if (ep && ep.confirmedAt === undefined) {
    const excess = costExcess(t.cost, s.costWindowMinutes);
    const fire = (trigger: 'high-confidence' | 'cost' | 'sustained', mitigate: boolean) => {
      ep.confirmedAt = m.ts;
      const ev: EpisodeEvent = { kind: 'confirmed', episode: { ...ep }, mitigate, trigger, at: m };
      if (excess !== undefined) ev.costExcess = excess;
      events.push(ev);
    };
    if (t.highRun >= s.highConfidenceMinutes) fire('high-confidence', true);
    else if (m.anomalous && ep.minutes >= s.costMinMinutes && excess !== undefined && excess >= s.costExcess)
      fire('cost', true);
    else if (ep.minutes >= s.confirmMinutes) fire('sustained', false);
  }
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
