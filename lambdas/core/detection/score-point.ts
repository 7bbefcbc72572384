/**
 * One streaming step for one series: forecast the point (Holt-Winters baseline), judge its
 * residual against recent residuals (robust z / IQR fences, bad direction) and against the
 * series' history (novelty at several horizons), decide whether it pages, and learn.
 * Pure and deterministic: no I/O, no clock; the input state is never mutated.
 */
import type { BadDirection } from '../signals.js';
import { forecast, learn } from './baseline.js';
import { horizonResiduals, readNovelty, widenEnvelope } from './novelty.js';
import { clamp, finiteOr, roundSig } from './numeric.js';
import { decide } from './paging.js';
import { discountRecovery, excursionStarts, nextHold } from './recovery-anchor.js';
import { judgeResidual } from './robust-z.js';
import { resolveSettings, type DetectorSettings } from './settings.js';
import { stepFrom } from './spacing.js';
import { emptyState, initialState, type DetectorState } from './state.js';

export interface SeriesPoint {
  /** Event time, epoch ms. */
  readonly ts: number;
  readonly value: number;
}

export interface PointScore {
  /** The state to keep for the next point of this series. */
  readonly state: DetectorState;
  /** Confidence in [0, 1] that this point starts or continues an anomaly in the bad direction. */
  readonly score: number;
  /** What would page. */
  readonly anomalous: boolean;
  /** The baseline's expectation for this point. */
  readonly expected: number;
  /** Values inside are within the z / IQR-fence band (each side given, whichever is bad). */
  readonly band: { readonly lo: number; readonly hi: number };
  /** Robust z of the residual, signed (positive = above expectation). */
  readonly z: number;
  /** An anomaly that paged is still in progress here (the point is still out of band). */
  readonly ongoing: boolean;
  /** No alert can be raised yet (too little history). */
  readonly warmingUp: boolean;
}

/** Residuals needed before their spread is trusted at all. */
const MIN_RESIDUALS = 8;
const RESIDUAL_DIGITS = 4;
const PROFILE_DIGITS = 4;
const Z_LIMIT = 1e9;

export function scorePoint(
  prev: DetectorState | undefined,
  point: SeriesPoint,
  direction: BadDirection,
  overrides?: Partial<DetectorSettings>,
): PointScore {
  const s = resolveSettings(overrides);
  const { ts, value } = point;
  if (!Number.isFinite(ts) || !Number.isFinite(value)) return unscored(prev);
  if (!prev || prev.n === 0) {
    const v = roundSig(value, s.stateDigits);
    return { state: initialState(ts, v), score: 0, anomalous: false, ongoing: false, expected: v, band: { lo: v, hi: v }, z: 0, warmingUp: true };
  }

  const gap = ts - prev.ts;
  const step = stepFrom(prev.dt, gap);
  const f = forecast(prev, ts, step.k, Math.max(0, ts - prev.first), s);
  const residual = value - f.expected;

  // A floor on every scale keeps constant series finite, and a change in them detectable.
  const floor = Math.max(s.scaleFloorAbs, s.scaleFloorRel * Math.max(prev.mag, Math.abs(prev.level)));
  const judged = judgeResidual(prev.res, residual, floor, direction, s.zThreshold, s.iqrK);

  const atHorizon = horizonResiduals(prev.res, residual, s.horizons);
  const envReady = prev.env.length === 4 * atHorizon.length;
  const seen = envReady && prev.epi.length === 2 * atHorizon.length ? withEpisode(prev.env, prev.epi) : prev.env;
  const nov = envReady ? readNovelty(seen, atHorizon, floor) : { up: 0, down: 0 };
  const { up, down } = prev.hold > 0 && envReady ? discountRecovery(nov, seen, atHorizon, f.prior - prev.anchor, floor) : nov;
  const novelty = direction === 'up' ? up : direction === 'down' ? down : Math.max(up, down);

  const warmingUp = prev.n < s.warmupPoints || prev.res.length < MIN_RESIDUALS;
  const decision = decide(
    { novelty, outOfBand: judged.outOfBand, history: prev.n, warmingUp, quiet: prev.quiet, run: prev.run },
    s,
  );

  // Learn. Outliers are clipped (Huber) before they move the baseline, not before the spread
  // or the envelope: those must see what really happened.
  const learnFrom = s.huberK > 0 ? f.expected + clamp(residual, -s.huberK * judged.scale, s.huberK * judged.scale) : value;
  const b = learn(prev, f, learnFrom, step.k, Math.min(step.k, 4) * step.typicalMs, s);
  const res = prev.res.slice(Math.max(0, prev.res.length - s.residualWindow + 1));
  res.push(roundSig(residual, RESIDUAL_DIGITS));
  const d = s.stateDigits;
  let env = prev.env;
  let envSince = prev.envSince;
  let epi = prev.epi;
  const inEpisode = s.episodeMemoryPoints > 0 && decision.ongoing && envReady;
  if (inEpisode) {
    epi = widenEpisode(prev.epi.length === 2 * atHorizon.length ? prev.epi : [], atHorizon).map((x) => roundSig(x, RESIDUAL_DIGITS));
  } else if (epi.length > 0 && decision.quiet >= s.episodeMemoryPoints) epi = [];
  if (prev.n >= s.envelopeStart && !inEpisode) {
    const rotate = envReady && s.envelopeMemoryDays > 0 && ts - envSince >= (s.envelopeMemoryDays * 86_400_000) / 2;
    env = widenEnvelope(envReady ? prev.env : [], atHorizon, rotate).map((x) => roundSig(x, RESIDUAL_DIGITS));
    if (rotate || !envReady) envSince = ts;
  }
  const hold = nextHold(prev.hold, envReady && excursionStarts(prev.env, atHorizon, floor), s.anchorPoints);
  const state: DetectorState = {
    v: 1,
    n: prev.n + 1,
    first: prev.first,
    ts: Math.max(prev.ts, ts),
    dt: Math.round(step.typicalMs),
    level: roundSig(b.level, d),
    anchor: hold > 0 ? prev.anchor : roundSig(b.level, d),
    hold,
    trend: roundSig(b.trend, d),
    day: b.day === prev.day ? prev.day : b.day.map((x) => roundSig(x, PROFILE_DIGITS)),
    week: b.week === prev.week ? prev.week : b.week.map((x) => roundSig(x, PROFILE_DIGITS)),
    err: [roundSig(b.err[0], d), roundSig(b.err[1], d), roundSig(b.err[2], d)],
    mag: roundSig(prev.mag + s.errAlpha * (Math.abs(value) - prev.mag), d),
    res,
    env,
    envSince,
    epi,
    quiet: decision.quiet,
    run: decision.run,
  };
  return {
    state,
    score: decision.confidence,
    anomalous: decision.anomalous,
    ongoing: decision.ongoing,
    expected: finiteOr(f.expected, value),
    band: { lo: finiteOr(f.expected + judged.bandLo, value), hi: finiteOr(f.expected + judged.bandHi, value) },
    z: clamp(judged.z, -Z_LIMIT, Z_LIMIT),
    warmingUp,
  };
}

function withEpisode(env: readonly number[], epi: readonly number[]): number[] {
  const out = env.slice();
  for (let h = 0; 2 * h < epi.length; h++) {
    out[4 * h + 2] = Math.max(out[4 * h + 2] as number, epi[2 * h] as number);
    out[4 * h + 3] = Math.min(out[4 * h + 3] as number, epi[2 * h + 1] as number);
  }
  return out;
}

function widenEpisode(epi: readonly number[], at: readonly number[]): number[] {
  const out = new Array<number>(2 * at.length);
  at.forEach((r, h) => {
    out[2 * h] = Math.max(epi[2 * h] ?? r, r);
    out[2 * h + 1] = Math.min(epi[2 * h + 1] ?? r, r);
  });
  return out;
}

/** Non-finite input: nothing is learned, nothing is flagged. */
function unscored(prev: DetectorState | undefined): PointScore {
  const state = prev ?? emptyState();
  const expected = state.level;
  return { state, score: 0, anomalous: false, ongoing: false, expected, band: { lo: expected, hi: expected }, z: 0, warmingUp: state.n < 2 };
}
