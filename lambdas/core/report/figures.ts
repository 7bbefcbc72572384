import { DEFAULT_TRIGGER_SETTINGS } from '../episodes.js';
import type { BadDirection } from '../signals.js';
import { clock, iso, plural, round, withUnit } from './format.js';
import type { SavingsEstimate, SpanMean } from './model.js';
import { inBand, type MinutePoint } from './series.js';

/** In band for as long as the detector needs to call an episode over: anything shorter is a dip, not stable. */
export const STABLE_MINUTES = DEFAULT_TRIGGER_SETTINGS.recoveryMinutes;

/** +1 when up is bad, −1 when down is bad; a `both` signal is judged on the side its peak was on. */
export function badSign(bad: BadDirection, peak: { observed: number; expected: number }): 1 | -1 {
  if (bad === 'up') return 1;
  if (bad === 'down') return -1;
  return peak.observed >= peak.expected ? 1 : -1;
}

/**
 * The first minute at or after `from` from which every later minute is in band, provided that
 * is at least `minMinutes` of data; null when the signal has not (yet) settled.
 */
export function stabilisedAt(
  points: readonly MinutePoint[],
  from: number,
  bad: BadDirection,
  minMinutes = STABLE_MINUTES,
): number | null {
  let first = -1;
  for (let i = points.length - 1; i >= 0 && points[i]!.ts >= from; i--) {
    if (!inBand(points[i]!, bad)) break;
    first = i;
  }
  if (first < 0 || points.length - first < minMinutes) return null;
  return points[first]!.ts;
}

export function spanMean(
  points: readonly Pick<MinutePoint, 'ts' | 'observed'>[],
  from: number,
  to: number,
): SpanMean | null {
  const span = points.filter((p) => p.ts >= from && p.ts < to);
  if (!span.length) return null;
  return {
    mean: Number((span.reduce((s, p) => s + p.observed, 0) / span.length).toPrecision(6)),
    from: iso(from),
    to: iso(to),
    minutes: span.length,
  };
}

/** What the excess and cost figures read of a minute (a `MinutePoint` fits). */
export type ExcessPoint = Pick<MinutePoint, 'ts' | 'observed' | 'expected' | 'volume'>;

/**
 * A cost signal's figures are weighted into dollars (× each minute's volume) only when every minute carries a
 * volume; one minute without it and every minute counts as one unit's worth.
 */
export function volumeWeighted(points: readonly ExcessPoint[], cost: boolean): boolean {
  return cost && points.length > 0 && points.every((p) => p.volume !== undefined);
}

/** A minute's excess over its expected value in the bad direction (`sign`), × volume when weighted. */
export function minuteExcess(p: ExcessPoint, sign: 1 | -1, weighted: boolean): number {
  return sign * (p.observed - p.expected) * (weighted ? p.volume! : 1);
}

/**
 * The mean excess per minute over the episode's minutes before the first action: the rate the savings estimate (and
 * the 24 h cost correction) project as the path without the mitigation. Null without such a minute.
 */
export function preActionRate(
  points: readonly ExcessPoint[],
  a: { start: number; firstAction: number; sign: 1 | -1; weighted: boolean },
): { rate: number; minutes: number } | null {
  const before = points.filter((p) => p.ts >= a.start && p.ts < a.firstAction);
  if (!before.length) return null;
  return {
    rate: before.reduce((s, p) => s + minuteExcess(p, a.sign, a.weighted), 0) / before.length,
    minutes: before.length,
  };
}

export interface SavingsArgs {
  points: readonly ExcessPoint[];
  signal: string;
  unit: string;
  /** Cost signals are stated in USD, others as the share of the excess avoided. */
  cost: boolean;
  sign: 1 | -1;
  /** The anomaly's first minute. */
  start: number;
  /** Minute of the first applied action; undefined when nothing was applied. */
  firstAction?: number;
  /** End of the episode (exclusive): the minute it stabilised, else the end of the data. */
  end: number;
  stabilised: boolean;
}

/**
 * The excess over the baseline, integrated over the episode, and how much of it the mitigation
 * avoided: the pre-action excess rate projected over the minutes after the first action, minus
 * the excess actually seen in them.
 */
export function estimateSavings(a: SavingsArgs): SavingsEstimate {
  const episode = a.points.filter((p) => p.ts >= a.start && p.ts < a.end);
  const weighted = volumeWeighted(episode, a.cost);
  const excess = (p: ExcessPoint) => minuteExcess(p, a.sign, weighted);
  const episodeExcess = episode.reduce((s, p) => s + excess(p), 0);
  const span = `${clock(a.start)}–${clock(a.end, a.start)}`;
  const assumptions = baseAssumptions(a, weighted, span);
  const diff = a.sign > 0 ? 'observed − expected' : 'expected − observed';
  const method =
    `Excess = ${weighted ? `(${diff}) × volume` : diff} per minute, summed over the episode (${span}). Avoided = ` +
    `the mean excess per minute before the first action, projected over the minutes after it, minus the excess ` +
    `actually seen in them.`;
  if (!episode.length)
    return { estimated: false, reason: 'no data for the episode’s minutes', episodeExcess: null, method, assumptions };
  if (a.firstAction === undefined)
    return {
      estimated: false,
      reason: 'no action was applied: nothing to compare against',
      episodeExcess,
      method,
      assumptions,
    };
  const pre = preActionRate(episode, { start: a.start, firstAction: a.firstAction, sign: a.sign, weighted });
  const after = episode.filter((p) => p.ts >= a.firstAction!);
  if (!pre)
    return {
      estimated: false,
      reason: 'no anomalous minute with data before the first action: no pre-action rate',
      episodeExcess,
      method,
      assumptions,
    };
  const rate = pre.rate;
  const projectedExcess = rate * after.length;
  const actualExcess = after.reduce((s, p) => s + excess(p), 0);
  const avoided = projectedExcess - actualExcess;
  const percent = projectedExcess > 0 ? round((avoided / projectedExcess) * 100, 1) : null;
  const fullMethod =
    `${method} Here: ${withUnit(rate, weighted ? 'USD' : a.unit)} per minute over the ` +
    `${plural(pre.minutes, 'minute')} before ${clock(a.firstAction, a.start)}, projected over the ` +
    `${plural(after.length, 'minute')} after it.`;
  const out: SavingsEstimate = {
    estimated: true,
    basis: a.cost ? 'cost' : 'relative',
    percent,
    episodeExcess: round6(episodeExcess),
    projectedExcess: round6(projectedExcess),
    actualExcess: round6(actualExcess),
    window: {
      from: iso(a.start),
      firstAction: iso(a.firstAction),
      to: iso(a.end),
      minutesBefore: pre.minutes,
      minutesAfter: after.length,
    },
    weighted,
    method: fullMethod,
    assumptions,
  };
  if (a.cost) {
    out.amount = round6(avoided);
    out.currency = 'USD';
  }
  return out;
}

function baseAssumptions(a: SavingsArgs, weighted: boolean, span: string): string[] {
  const out = [
    a.stabilised
      ? `Without the action the excess would have gone on at its pre-action rate until the signal stabilised (` +
        `${clock(a.end, a.start)}), and no longer: conservative, the spike could have lasted longer.`
      : `The signal had not stabilised by the end of the data: the episode is counted up to ` +
        `${clock(a.end, a.start)} (${span}).`,
    'The baseline is the detector’s expected value for each minute (the anomaly’s where a minute has none); the ' +
      'detector adapts toward a long anomaly, which if anything understates the excess.',
    'Minutes without data are left out on both sides; minutes on the good side of the baseline count as negative ' +
      'excess.',
  ];
  if (a.cost && weighted)
    out.push(
      `Each minute’s ${a.signal} excess is multiplied by that minute’s volume: a p95 per-unit cost times the ` +
        `volume overstates what the typical unit cost.`,
    );
  else if (a.cost)
    out.push(
      `${a.signal} is a per-unit cost (${a.unit}): each minute’s excess counts as one unit’s worth of spend. ` +
        `Supply per-minute volume in the series to scale it to total dollars.`,
    );
  else
    out.push(
      `${a.signal} is not a cost signal: the saving is stated as the share of the projected excess avoided, not in ` +
        `dollars.`,
    );
  return out;
}

export function round6(v: number): number {
  return Number(v.toPrecision(6));
}
