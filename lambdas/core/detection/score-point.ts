/**
 * One streaming step for one series: forecast the point (Holt-Winters baseline), judge its
 * residual against recent residuals (robust z / IQR fences, bad direction) and against the
 * series' own history (novelty at several horizons), decide whether it pages, and learn.
 * Pure and deterministic: no I/O, no clock; the input state is never mutated.
 */
import type { BadDirection } from '../signals.js';
import { forecast, learn } from './baseline.js';
import { horizonResiduals, readNovelty, remember, withEpisode } from './novelty.js';
import { clamp, roundSig } from './numeric.js';
import { decide } from './paging.js';
import { discountRecovery, excursionStarts, nextHold } from './recovery-anchor.js';
import { judgeResidual } from './robust-z.js';
import { resolveSettings, type DetectorSettings } from './settings.js';
import { stepFrom } from './spacing.js';
import { emptyState, initialState, type DetectorState } from './state.js';
import { fromUnits, renormalise, toUnits } from './units.js';

export interface SeriesPoint {
  /** Event time, epoch ms. */
  readonly ts: number;
  readonly value: number;
}

export interface PointScore {
  /** The state to keep for the next point of this series. */
  readonly state: DetectorState;
  /** Confidence in [0, 1] that this point is anomalous in the bad direction. */
  readonly score: number;
  /** What would page: a new anomaly, or an open one reaching new extremes. */
  readonly anomalous: boolean;
  /** An anomaly that paged is still in progress here (the point is still out of band). */
  readonly ongoing: boolean;
  /** The baseline's expectation for this point. */
  readonly expected: number;
  /** The z / IQR-fence band around the expectation (both sides, whichever is bad). */
  readonly band: { readonly lo: number; readonly hi: number };
  /** Robust z of the residual, signed (positive = above expectation). */
  readonly z: number;
  /** No alert can be raised yet (too little history). */
  readonly warmingUp: boolean;
}

/** Residuals needed before their spread is trusted at all. */
const MIN_RESIDUALS = 8;
/** Significant digits of stored residuals and envelope edges. */
const RESIDUAL_DIGITS = 4;
const Z_LIMIT = 1e9;
const DAY_MS = 86_400_000;

export function scorePoint(
  prev: DetectorState | undefined,
  point: SeriesPoint,
  direction: BadDirection,
  overrides?: Partial<DetectorSettings>,
): PointScore {
  const s = resolveSettings(overrides);
  const { ts } = point;
  if (!Number.isFinite(ts) || !Number.isFinite(point.value)) return unscored(prev);
  if (!prev || prev.n === 0) {
    const state = initialState(ts, point.value, s.stateDigits);
    const v = fromUnits(state.level, state.exp);
    return { state, score: 0, anomalous: false, ongoing: false, expected: v, band: { lo: v, hi: v }, z: 0, warmingUp: true };
  }
  // From here on, values are in the series' units of 10^exp (see units.ts).
  const value = toUnits(point.value, prev.exp);

  // Forecast and residual.
  const step = stepFrom(prev.dt, ts - prev.ts);
  const f = forecast(prev, ts, step.k, Math.max(0, ts - prev.first), s);
  const residual = value - f.expected;

  // Against recent residuals: the DESIGN's z / IQR-fence rule. A floor on every scale keeps
  // constant series finite, and any change in them detectable.
  const floor = Math.max(toUnits(s.scaleFloorAbs, prev.exp), s.scaleFloorRel * Math.max(prev.mag, Math.abs(prev.level)));
  const judged = judgeResidual(prev.res, residual, floor, direction, s.zThreshold, s.iqrK);

  // Against the series' history: novelty at each horizon, minus what is only a recovery.
  const atHorizon = horizonResiduals(prev.res, residual, s.horizons);
  const envReady = prev.env.length === 4 * atHorizon.length;
  const seen = withEpisode(prev.env, prev.epi);
  const raw = envReady ? readNovelty(seen, atHorizon, floor) : { up: 0, down: 0 };
  const nov = prev.hold > 0 && envReady ? discountRecovery(raw, seen, atHorizon, f.prior - prev.anchor, floor) : raw;
  const novelty = direction === 'up' ? nov.up : direction === 'down' ? nov.down : Math.max(nov.up, nov.down);

  const dbg = (globalThis as any).__dbg; if (dbg) dbg({ n: prev.n, residual, atHorizon, env: seen, raw, nov, novelty, scale: judged.scale, outOfBand: judged.outOfBand, expected: f.expected, hold: prev.hold });
  const warmingUp = prev.n < s.warmupPoints || prev.res.length < MIN_RESIDUALS;
  const decision = decide({ novelty, outOfBand: judged.outOfBand, history: prev.n, warmingUp, quiet: prev.quiet, run: prev.run }, s);

  // Learn. Outliers are clipped (Huber) before they move the baseline — not before the spread
  // or the history, which must see what really happened.
  const clip = s.huberK * judged.scale;
  const b = learn(prev, f, s.huberK > 0 ? f.expected + clamp(residual, -clip, clip) : value, step.k, Math.min(step.k, 4) * step.typicalMs, s);
  const res = prev.res.slice(Math.max(0, prev.res.length - s.residualWindow + 1));
  res.push(roundSig(residual, RESIDUAL_DIGITS));
  const history = remember(prev, atHorizon, ts, {
    learns: prev.n >= s.envelopeStart,
    inEpisode: s.episodeMemoryPoints > 0 && decision.ongoing && envReady,
    quiet: decision.quiet,
    episodeMemory: s.episodeMemoryPoints,
    memoryMs: s.envelopeMemoryDays * DAY_MS,
    digits: RESIDUAL_DIGITS,
  });
  const hold = nextHold(prev.hold, envReady && excursionStarts(seen, atHorizon, floor), s.anchorPoints);
  const d = s.stateDigits;
  const state = renormalise(
    {
      v: 1,
      n: prev.n + 1,
      first: prev.first,
      ts: Math.max(prev.ts, ts),
      exp: prev.exp,
      dt: Math.round(step.typicalMs),
      level: roundSig(b.level, d),
      base: roundSig(b.base, d),
      trend: roundSig(b.trend, d),
      day: b.day,
      week: b.week,
      err: [roundSig(b.err[0], d), roundSig(b.err[1], d), roundSig(b.err[2], d)],
      mag: roundSig(prev.mag + s.errAlpha * (Math.abs(value) - prev.mag), d),
      res,
      env: history.env,
      envSince: history.envSince,
      epi: history.epi,
      anchor: hold > 0 ? prev.anchor : roundSig(b.level, d),
      hold,
      quiet: decision.quiet,
      run: decision.run,
    },
    d,
    RESIDUAL_DIGITS,
  );
  return {
    state,
    score: decision.confidence,
    anomalous: decision.anomalous,
    ongoing: decision.ongoing,
    expected: output(f.expected, value, prev.exp),
    band: { lo: output(f.expected + judged.bandLo, value, prev.exp), hi: output(f.expected + judged.bandHi, value, prev.exp) },
    z: clamp(judged.z, -Z_LIMIT, Z_LIMIT),
    warmingUp,
  };
}

/** Back to the series' own units; never NaN / infinite. */
function output(x: number, fallback: number, exp: number): number {
  return fromUnits(Number.isFinite(x) ? x : fallback, exp);
}

/** Non-finite input: nothing is learned, nothing is flagged. */
function unscored(prev: DetectorState | undefined): PointScore {
  const state = prev ?? emptyState();
  const expected = fromUnits(state.level, state.exp);
  return { state, score: 0, anomalous: false, ongoing: false, expected, band: { lo: expected, hi: expected }, z: 0, warmingUp: state.n < 2 };
}
