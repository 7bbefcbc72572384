import { roundSig } from './numeric.js';
import { DAY_SLOTS, WEEK_SLOTS } from './seasonal-profile.js';
import { decadeOf, toUnits } from './units.js';

/**
 * Everything the detector remembers about one series. Plain JSON with fixed-size arrays and
 * rounded numbers: `JSON.stringify(state).length` stays under 2 KB for any series length, so
 * it fits inside a 4 KB DynamoDB item next to window buckets. Treat as opaque and immutable.
 */
export interface DetectorState {
  /** Schema version. */
  readonly v: 1;
  /** Points scored so far (0: nothing valid seen yet). */
  readonly n: number;
  /** Event time of the first point (ms); history length gates seasonality. */
  readonly first: number;
  /** Latest event time seen (ms). */
  readonly ts: number;
  /** Every value below is in units of 10^exp, the series' decade (see units.ts). */
  readonly exp: number;
  /** Typical spacing between points (ms); 0 until two points were seen. */
  readonly dt: number;

  /** Holt level: fast EWMA of the deseasonalised series. */
  readonly level: number;
  /** Fast EWMA of the series as it is (the flat model's level). */
  readonly flat: number;
  /** Forecast model in use at the latest point: 0 flat, 1 daily, 2 daily + weekly. */
  readonly m: 0 | 1 | 2;
  /** 1 once a seasonal model has taken over from the flat one (the history was re-expressed). */
  readonly seasoned: 0 | 1;
  /** After that take-over, until when (event time, ms) the history shrinks with the model's error, and
   * that error's lowest value so far (`settleDays`); absent otherwise. */
  readonly ss?: readonly [number, number];
  /** Slow base level (days): what the seasonal profiles learn against. */
  readonly base: number;
  /** Holt trend per nominal interval (0 while the trend is disabled). */
  readonly trend: number;
  /** Hour-of-day additive profile, 24 slots (UTC). */
  readonly day: readonly number[];
  /** Day-of-week additive profile, 7 slots (UTC, Monday first). */
  readonly week: readonly number[];
  /** Smoothed |forecast error| without / with daily / with daily+weekly seasonality. */
  readonly err: readonly [number, number, number];
  /** Smoothed |value|: what the residual scale floor and the decade follow. */
  readonly mag: number;

  /** Most recent residuals, oldest first (at most `residualWindow`). */
  readonly res: readonly number[];

  /** Novelty envelope per horizon: [hiCur, loCur, hiPrev, loPrev, ...]. */
  readonly env: readonly number[];
  /** Start (event time, ms) of the envelope's current bucket. */
  readonly envSince: number;
  /** What open alert episodes reached, per horizon [hi, lo, ...]; forgotten a while after. */
  readonly epi: readonly number[];

  /** Shift envelope: the gap between the fast level (model in use) and the slow base outside
   * episodes, [hiCur, loCur, hiPrev, loPrev] (envelope buckets); empty until it starts learning. */
  readonly sh: readonly number[];
  /** What open alert episodes took that gap to, [hi, lo] (forgotten with the episode memory). */
  readonly she: readonly number[];
  /** Points before the gap is read again after a gap in the data (the fast level settling). */
  readonly sg?: number;
  /** Typical record overshoot of the first horizon outside episodes, [above, below] (0: none yet). */
  readonly ro: readonly number[];
  /** Spike envelope: how far points stood out from both neighbours, [hiCur, loCur, hiPrev, loPrev]
   * (buckets rotating with `env`); empty until it starts learning. */
  readonly sp: readonly number[];

  /** Exceedance threshold: the learned high quantile of the residual's bad-side deviation (absent until
   * the residual window has filled), the recent share of points beyond it, and the envelope of that
   * share outside episodes, [hiCur, loCur, hiPrev, loPrev] (density of spikes). */
  readonly dq?: number;
  readonly dr?: number;
  readonly de?: readonly number[];

  /** Range of the flat level outside episodes, [hiCur, loCur, hiPrev, loPrev] (envelope buckets). */
  readonly lv: readonly number[];

  /** Latest value (rounded), the length of its run of identical values, the longest completed
   * runs (current and previous envelope bucket) and the value changes seen (capped): stuck values. */
  readonly last: number;
  readonly sr: number;
  readonly sl: readonly [number, number];
  readonly sc: number;
  /** The value before `last` (rounded; absent in states stored before the spike part). */
  readonly lb?: number;

  /** Level before the latest excursion (held while `hold` > 0, else follows `level`). */
  readonly anchor: number;
  /** Points the anchor stays held. */
  readonly hold: number;

  /** Points since the last alert (capped). */
  readonly quiet: number;
  /** Length of the open alert episode, points (0: none open; capped). */
  readonly run: number;
}

export const COUNT_CAP = 1_000_000_000;

/** A state that has seen no valid point yet: the next valid point starts the series. */
export function emptyState(): DetectorState {
  return { ...initialState(0, 0), n: 0 };
}

/** The state after the first point of a series. */
export function initialState(ts: number, value: number, digits = 6): DetectorState {
  const exp = decadeOf(value);
  const v = roundSig(toUnits(value, exp), digits);
  return {
    v: 1,
    n: 1,
    first: ts,
    ts,
    exp,
    dt: 0,
    level: v,
    flat: v,
    m: 0,
    seasoned: 0,
    base: v,
    anchor: v,
    hold: 0,
    lv: [],
    sh: [],
    she: [],
    sg: 0,
    ro: [0, 0],
    sp: [],
    last: v,
    sr: 1,
    sl: [0, 0],
    sc: 0,
    trend: 0,
    day: new Array<number>(DAY_SLOTS).fill(0),
    week: new Array<number>(WEEK_SLOTS).fill(0),
    err: [0, 0, 0],
    mag: Math.abs(v),
    res: [],
    env: [],
    epi: [],
    envSince: ts,
    quiet: COUNT_CAP,
    run: 0,
  };
}
