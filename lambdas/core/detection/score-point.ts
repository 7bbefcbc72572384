/**
 * One streaming step for one series: forecast the point (flat or seasonal Holt-Winters model),
 * judge its residual against recent residuals (robust z / IQR fences, bad direction) and against
 * the series' own history (novelty of the debiased residual at several horizons; runs of stuck
 * values), decide whether it pages, and learn. Pure and deterministic: no I/O, no clock; the
 * input state is never mutated.
 */
import type { BadDirection } from '../signals.js';
import { forecast, learn } from './baseline.js';
import { exceedanceQuantile, localDeviation, nextRate } from './density.js';
import {
  horizonResiduals,
  learnOvershoot,
  onBadSide,
  reach,
  readNovelty,
  remember,
  widenEnvelope,
  widenEpisode,
  withEpisode,
} from './novelty.js';
import { clamp, roundSig, stepWeight } from './numeric.js';
import { decide } from './paging.js';
import { discountRecovery, excursionStarts, nextHold } from './recovery-anchor.js';
import { judgeResidual } from './robust-z.js';
import { resolveSettings, type DetectorSettings } from './settings.js';
import { pointsWithin, stepFrom } from './spacing.js';
import { loneDeviation, readSpike, widenSpikes } from './spike.js';
import { readStuck } from './stuck.js';
import { emptyState, initialState, type DetectorState } from './state.js';
import { fromUnits, renormalise, toUnits } from './units.js';
import { HOUR_MS, DAY_MS } from '../time.js';

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
  /**
   * What the confidence rests on: `band` — the residual (at the point or sustained over a few
   * points) goes beyond everything the series has done; `shift` — the level has moved away from
   * the slow base level further than ever (level shifts, drifts); `stuck` — a run of identical
   * values longer than any before; `density` — points that stand out from their neighbours by more
   * than the series' usual high quantile come more often than ever (spikes or noise more often or
   * larger for hours, none of them a record); `spike` — the previous point stood out from both its
   * neighbours further than any point has (a spike or dip inside the series' range, reported one point
   * late). Undefined while the confidence is 0.
   */
  readonly kind?: AlertKind;
}

export type AlertKind = 'band' | 'shift' | 'stuck' | 'density' | 'spike';

/**
 * A point as an incident feed reports it: its score and alert where an incident can start (no episode
 * was open at the previous point), 0 and no alert inside an episode already open. The consumer pages
 * an incident once (`trackEpisode`), so a new extreme of an open one is not a new page; a replay
 * written for NAB's scorer would otherwise count each such point as another detection.
 *
 * @example
 * const r = scorePoint(state, point, 'both');
 * const reported = incidentView(state, r); // the state from before the point
 * state = r.state;
 */
export function incidentView(
  prev: DetectorState | undefined,
  r: PointScore,
): { readonly score: number; readonly alert: boolean } {
  return prev !== undefined && prev.run > 0 ? { score: 0, alert: false } : { score: r.score, alert: r.anomalous };
}

/** Residuals needed before their spread is trusted at all. */
const MIN_RESIDUALS = 8;
/** Significant digits of stored residuals and envelope edges. */
const RESIDUAL_DIGITS = 3;
/** Points between two updates of the density part's threshold. */
const THRESHOLD_EVERY = 8;
/** Significant digits of the remembered level range (a coarse "has the series been here" check). */
const LEVEL_RANGE_DIGITS = 4;
const Z_LIMIT = 1e9;

/**
 * @example
 * let state: DetectorState | undefined;
 * for (const point of series) {
 *   const score = scorePoint(state, point, 'up'); // point: { ts, value }
 *   state = score.state;                          // score.anomalous, score.expected, score.band …
 * }
 */
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
    const v = fromUnits(state.flat, state.exp);
    return {
      state,
      score: 0,
      anomalous: false,
      ongoing: false,
      expected: v,
      band: { lo: v, hi: v },
      z: 0,
      warmingUp: true,
    };
  }
  // From here on, values are in the series' units of 10^exp (see units.ts).
  const value = toUnits(point.value, prev.exp);

  // Forecast and residual.
  const step = stepFrom(prev.dt, ts - prev.ts);
  const f = forecast(prev, prev.m, ts, step.k, Math.max(0, ts - prev.first), s);
  const residual = value - f.expected;

  // Against recent residuals: the seed's z / IQR-fence rule. A floor on every scale keeps
  // constant series finite, and any change in them detectable.
  const floor = Math.max(
    toUnits(s.scaleFloorAbs, prev.exp),
    s.scaleFloorRel * Math.max(prev.mag, Math.abs(prev.level)),
  );
  const judged = judgeResidual(prev.res, residual, floor, direction, s.zThreshold, s.iqrK);

  // Against the series' history: novelty at each horizon, minus what is only a recovery.
  // When the forecast model changes, the anchor is re-expressed in the new model's level. The
  // first time a seasonal model takes over from the flat one, the history is also re-expressed
  // in its typical error: until then it holds the flat model's misses of the seasonal swing
  // (e.g. a 5-minute EWMA lags a daily cycle by a third of its amplitude), which would hide
  // everything smaller for weeks. Later switches (usually around incidents) leave it alone.
  const switched = f.model !== prev.m;
  const promoted = switched && prev.m === 0 && prev.seasoned === 0;
  // The profile then still converges for days, and its misses meanwhile would set records many times
  // its settled error: for `settleDays` the history keeps shrinking with the model's error.
  const settling = settleHistory(prev, f.model, promoted, ts, s.settleDays);
  const ratio = (promoted ? switchRatio(prev.err, prev.m, f.model) : 1) * settling.ratio;
  const env = ratio !== 1 ? scaleAll(prev.env, ratio) : prev.env;
  const epi = ratio !== 1 ? scaleAll(prev.epi, ratio) : prev.epi;
  const overshoot = ratio !== 1 ? scaleAll(prev.ro, ratio) : prev.ro;
  const anchor = switched ? prev.anchor + f.ref - (prev.m === 0 ? f.flatPrior : f.prior) : prev.anchor;
  // Residuals are taken against their recent median (the baseline's current bias): while the
  // level catches up after a shift, the trail of one-sided residuals it leaves is neither novel
  // nor learned as what the series does, and spikes on the new level count from that level.
  const atHorizon = horizonResiduals(prev.res, residual - judged.median, s.horizons, judged.median);
  const envReady = env.length === 4 * atHorizon.length;
  const seen = withEpisode(env, epi);
  const margin = overshoot.map((x) => s.recordMargin * x);
  const raw = envReady ? readNovelty(seen, atHorizon, floor, 0, 0, margin) : { up: 0, down: 0 };
  const nov = prev.hold > 0 && envReady ? discountRecovery(raw, seen, atHorizon, f.ref - anchor, floor) : raw;
  let novelty = onBadSide(nov, direction);

  // Stuck values: a run of identical values clearly longer than any this series had recently.
  const d = s.stateDigits;
  const rounded = roundSig(value, d);
  const stuckSide = direction === 'both' || (direction === 'up' ? rounded > prev.base : rounded < prev.base);
  const runMemory = { last: prev.last, run: prev.sr, longest: prev.sl, changes: prev.sc };
  const stuck = readStuck(runMemory, rounded, false);
  // Stuck evidence grows with the run past the threshold, discounted by maturity like novelty
  // (young series break run-length records easily); it opens an episode, which stays open while
  // the value stays stuck, and does not page again inside it.
  const maturityPoints = pointsWithin(s.maturityPoints, s.maturityMaxDays * DAY_MS, step.typicalMs);
  const maturity = maturityPoints > 0 ? Math.min(1, prev.n / maturityPoints) : 1;
  let kind: AlertKind = 'band';
  const stuckOn = stuckSide && stuck.ratio * maturity >= 1;
  if (stuckOn && prev.run === 0) {
    const e = (s.noveltyScale * stuck.ratio) / Math.max(maturity, 1e-9);
    if (e > novelty) [novelty, kind] = [e, 'stuck'];
  }

  // Level shifts and drifts: the fast level (after this point) against the slow base level (days),
  // beyond every gap between them the series has had (and what open episodes took it to). A
  // shift or ramp that the residuals absorb within the hour keeps this gap open for a day or more.
  // With an anchor held, the gap is also measured from the pre-excursion level, so a recovery
  // toward it is not a shift. Scored on its own, larger scale (it is smooth, so it breaks its
  // record by small amounts often).
  const shiftOn = s.shiftScale > 0;
  const levelNow = (lvl: { level: number; flat: number }) => (f.model === 0 ? lvl.flat : lvl.level);

  const warmingUp = prev.n < s.warmupPoints || prev.res.length < MIN_RESIDUALS;
  // The refractory period is a time for the people paged: at most refractoryMaxHours.
  const refractoryPoints = pointsWithin(s.refractoryPoints, s.refractoryMaxHours * HOUR_MS, step.typicalMs);
  // Learn. Outliers are clipped (Huber) before they move the baseline — not before the spread
  // or the history, which must see what really happened.
  const clip = s.huberK * judged.scale;
  const b = learn(
    prev,
    f,
    s.huberK > 0 ? f.expected + clamp(residual, -clip, clip) : value,
    step.k,
    Math.min(step.k, 4) * step.typicalMs,
    s,
  );
  const gap = levelNow(b) - b.base;
  // After a gap of several intervals the fast level is little more than one point's value: the gap
  // is not read again until the level has had 1/levelAlpha points to settle (`sg` counts down).
  const settle = step.k > 4 ? Math.ceil(1 / s.levelAlpha) : Math.max(0, (prev.sg ?? 0) - 1);
  // Read from shiftReadDays on; until the envelope has twice shiftStartDays of history behind it, a gap
  // must break it by more (shiftEarlyScale, falling linearly to shiftScale): young series get their
  // shifts and drifts paged, a first day's envelope does not page the next day's normal swings.
  const age = (ts - prev.first) / DAY_MS;
  const shiftScored = age >= s.shiftReadDays;
  const early = clamp((2 * s.shiftStartDays - age) / Math.max(1e-9, 2 * s.shiftStartDays - s.shiftReadDays), 0, 1);
  const need = s.shiftScale + early * Math.max(0, s.shiftEarlyScale - s.shiftScale);
  if (shiftOn && prev.sh.length === 4 && shiftScored && settle === 0) {
    const seenGap = withEpisode(prev.sh, prev.she);
    const g = readNovelty(seenGap, [gap], floor);
    const a = prev.hold > 0 ? readNovelty(seenGap, [gap], floor, b.base - anchor) : g;
    const shiftNov = onBadSide({ up: Math.min(g.up, a.up), down: Math.min(g.down, a.down) }, direction);
    // Below its scale a shift is no evidence at all: the gap is smooth, and one that stays a little
    // beyond its record for hours must not hold the confidence up all that time.
    // decide() discounts evidence by the series' maturity; the early scale is this part's guard instead.
    const e = shiftNov >= need ? (shiftNov * s.noveltyScale) / need / Math.max(maturity, 1e-9) : 0;
    if (e > novelty) [novelty, kind] = [e, 'shift'];
  }

  // Density of exceedances: the recent share of points that stand out from their neighbours by
  // more than the learned high quantile of such deviations, against every share the series has
  // had (read after a day of it). A level change and the baseline's catch-up after it hardly
  // stand out from their neighbours; the shift and band parts judge those. Episodes do not count,
  // and the refractory period after one does not read it (one incident, one page).
  const densityOn = s.densityScale > 0;
  const nres = prev.res.length;
  const exceeded =
    prev.dq !== undefined &&
    nres >= 2 &&
    localDeviation(prev.res[nres - 2] as number, prev.res[nres - 1] as number, residual, direction) > prev.dq;
  const rate =
    prev.dq === undefined
      ? s.densityShare
      : prev.run > 0
        ? (prev.dr ?? s.densityShare)
        : nextRate(prev.dr ?? s.densityShare, exceeded, s.densityPoints, step.k);
  const densityRead = ts - prev.first >= DAY_MS && settle === 0;
  if (densityOn && prev.de?.length === 4 && densityRead && prev.quiet >= refractoryPoints) {
    const dn = readNovelty(prev.de, [rate], s.densityShare).up;
    const e = dn >= s.densityScale ? (dn * s.noveltyScale) / s.densityScale : 0;
    if (e > novelty) [novelty, kind] = [e, 'density'];
  }

  // Lone spikes and dips: the previous value against both its neighbours (values, not residuals:
  // the forecast's catch-up after a level switch would make every switch look like one), beyond
  // every such deviation the series has had. Not read when an episode was open at that point.
  const before = s.spikeGate > 0 ? prev.lb : undefined;
  const spikeOn = before !== undefined;
  const lone = spikeOn ? loneDeviation(before, prev.last, rounded) : 0;
  if (spikeOn && prev.sp.length === 4 && envReady && prev.run === 0) {
    const e = onBadSide(readSpike(prev.sp, lone, floor, s.spikeGate), direction);
    if (e > novelty) [novelty, kind] = [e, 'spike'];
  }

  const decision = decide(
    {
      novelty,
      outOfBand: judged.outOfBand,
      stillOn: stuckOn,
      history: prev.n,
      warmingUp,
      quiet: prev.quiet,
      run: prev.run,
      refractoryPoints,
      maturityPoints,
    },
    s,
  );
  const res = prev.res.slice(Math.max(0, prev.res.length - s.residualWindow + 1));
  res.push(roundSig(residual, RESIDUAL_DIGITS));
  // Regime change: an episode that closes with the baseline settled on a new level — away from
  // the level before the incident by more than the sustained horizon has ever deviated, and
  // outside the range the (flat) level has had outside episodes — is over, but the shift is not.
  // What the episode reached, measured from the old level, is no guide to spikes on the new one,
  // so its memory goes at once instead of a day later. The level range (remembered like the
  // envelope) keeps series that move between known levels (on/off, business hours) from
  // forgetting, and so from paging on every switch.
  const levels = reach(prev.lv);
  const newLevel = prev.lv.length !== 4 || b.flat > levels.hi || b.flat < levels.lo;
  const settled =
    prev.run > 0 &&
    decision.run === 0 &&
    prev.hold > 0 &&
    envReady &&
    newLevel &&
    beyondSustained(env, (f.model === 0 ? b.flat : b.level) - anchor);
  const inEpisode = s.episodeMemoryPoints > 0 && decision.ongoing && envReady;
  // What this series' records usually overshoot by is learned from those that do not page.
  const ro =
    envReady && !decision.ongoing && prev.n >= s.envelopeStart
      ? learnOvershoot(overshoot, env, atHorizon[0] as number, RESIDUAL_DIGITS)
      : overshoot;
  const history = remember({ env, envSince: prev.envSince, epi: settled ? [] : epi }, atHorizon, ts, {
    learns: prev.n >= s.envelopeStart,
    inEpisode,
    quiet: decision.quiet,
    episodeMemory: s.episodeMemoryPoints,
    memoryMs: s.envelopeMemoryDays * DAY_MS,
    digits: RESIDUAL_DIGITS,
    carry: s.envelopeCarry,
  });
  // Weight of this point in what the shift and density envelopes learn over `shiftLearnDays`.
  const dayWeight = stepWeight(1, (Math.min(step.k, 4) * step.typicalMs) / (s.shiftLearnDays * DAY_MS));
  const shiftLearns =
    shiftOn && prev.n >= s.envelopeStart && ts - prev.first >= s.shiftStartDays * DAY_MS && !inEpisode;
  const sh = !shiftLearns
    ? prev.sh
    : prev.sh.length !== 4
      ? widenEnvelope([], [gap], false, RESIDUAL_DIGITS)
      : widenSlowly(
          prev.sh,
          gap,
          // after an alert (within the refractory period) the gap the incident leaves is learned at
          // once: it is known, and must not hold the confidence up while the base level catches up
          decision.quiet < refractoryPoints || !shiftScored ? 1 : dayWeight,
          history.rotated === true,
        );
  const she =
    !shiftOn || settled
      ? []
      : inEpisode
        ? widenEpisode(prev.she, [gap], RESIDUAL_DIGITS)
        : history.epi.length === 0
          ? []
          : prev.she;
  const density = densityOn
    ? nextDensity(prev, {
        residual,
        direction,
        exceeded,
        rate,
        inEpisode,
        ready: prev.n >= s.envelopeStart && prev.res.length >= s.residualWindow - 1,
        dayWeight,
        learnsAtOnce: decision.quiet < refractoryPoints || !densityRead,
        rotate: history.rotated === true,
        learnsAfter: prev.n >= s.envelopeStart + s.residualWindow + 2 * s.densityPoints,
        s,
      })
    : {};
  const lv = levelRange(
    prev.lv,
    roundSig(b.flat, LEVEL_RANGE_DIGITS),
    prev.n >= s.envelopeStart && !(s.episodeMemoryPoints > 0 && decision.ongoing),
    history.rotated === true,
  );
  const runs = history.rotated ? readStuck(runMemory, rounded, true, s.envelopeCarry).memory : stuck.memory;
  const hold = nextHold(
    prev.hold,
    envReady && excursionStarts(seen, atHorizon, floor),
    pointsWithin(s.anchorPoints, s.anchorMaxDays * DAY_MS, step.typicalMs),
  );
  const state = renormalise(
    {
      v: 1,
      n: prev.n + 1,
      first: prev.first,
      ts: Math.max(prev.ts, ts),
      exp: prev.exp,
      dt: Math.round(step.typicalMs),
      level: roundSig(b.level, d),
      flat: roundSig(b.flat, d),
      m: f.model,
      seasoned: promoted ? 1 : prev.seasoned,
      ...(settling.ss && { ss: settling.ss }),
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
      anchor: hold > 0 ? roundSig(anchor, d) : roundSig(f.model === 0 ? b.flat : b.level, d),
      hold,
      lv,
      sh,
      she,
      sg: settle,
      ro,
      // Learned in episodes too: a spike that paged is not news the next time.
      sp:
        spikeOn && prev.n >= s.envelopeStart
          ? widenSpikes(prev.sp, lone, history.rotated === true, RESIDUAL_DIGITS, s.envelopeCarry)
          : prev.sp,
      lb: prev.last,
      // always present (undefined is not serialised): one object shape for every state
      dq: density.dq,
      dr: density.dr,
      de: density.de,
      last: runs.last,
      sr: runs.run,
      sl: runs.longest,
      sc: runs.changes,
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
    band: {
      lo: output(f.expected + judged.bandLo, value, prev.exp),
      hi: output(f.expected + judged.bandHi, value, prev.exp),
    },
    z: clamp(judged.z, -Z_LIMIT, Z_LIMIT),
    warmingUp,
    ...(decision.confidence > 0 && { kind }),
  };
}

/** [hiCur, loCur, hiPrev, loPrev] of the flat level, widened by `x` when `learns`, rotated with the envelope. */
function levelRange(lv: readonly number[], x: number, learns: boolean, rotate: boolean): number[] {
  if (lv.length !== 4) return learns ? [x, x, x, x] : [];
  let [hi, lo, hiPrev, loPrev] = lv as [number, number, number, number];
  if (rotate) [hi, lo, hiPrev, loPrev] = [x, x, hi, lo];
  if (learns) [hi, lo] = [Math.max(hi, x), Math.min(lo, x)];
  return [hi, lo, hiPrev, loPrev];
}

/**
 * The shift envelope widens toward a new extreme gradually (weight `w` per point), so a drift
 * outruns it instead of teaching it every step; a rotation starts the current bucket at `x`.
 */
function widenSlowly(env: readonly number[], x: number, w: number, rotate: boolean): number[] {
  let [hi, lo, hiPrev, loPrev] = env as [number, number, number, number];
  if (rotate) [hi, lo, hiPrev, loPrev] = [x, x, hi, lo];
  if (x > hi) hi += w * (x - hi);
  if (x < lo) lo += w * (x - lo);
  return [roundSig(hi, RESIDUAL_DIGITS), roundSig(lo, RESIDUAL_DIGITS), hiPrev, loPrev];
}

/** The density part's next state: threshold, recent share of exceedances and its envelope. */
function nextDensity(
  prev: DetectorState,
  p: {
    residual: number;
    direction: BadDirection;
    exceeded: boolean;
    rate: number;
    inEpisode: boolean;
    ready: boolean;
    dayWeight: number;
    learnsAtOnce: boolean;
    rotate: boolean;
    learnsAfter: boolean;
    s: DetectorSettings;
  },
): Pick<DetectorState, 'dq' | 'dr' | 'de'> {
  if (!p.ready) return {};
  // The quantile is taken every few points only (it moves over a day; sorting each point is slow).
  const refresh = prev.dq === undefined || prev.n % THRESHOLD_EVERY === 0;
  const target = refresh ? exceedanceQuantile([...prev.res, p.residual], p.direction, p.s.densityShare) : 0;
  if (prev.dq === undefined) return { dq: roundSig(target, RESIDUAL_DIGITS), dr: roundSig(p.rate, RESIDUAL_DIGITS) };
  const q =
    p.inEpisode || !refresh ? prev.dq : prev.dq + (1 - (1 - p.dayWeight) ** THRESHOLD_EVERY) * (target - prev.dq);
  const dr = roundSig(p.rate, RESIDUAL_DIGITS);
  const de =
    !p.learnsAfter || p.inEpisode
      ? prev.de
      : prev.de?.length !== 4
        ? widenEnvelope([], [dr], false, RESIDUAL_DIGITS)
        : widenSlowly(prev.de, dr, p.learnsAtOnce ? 1 : p.dayWeight, p.rotate);
  return { dq: roundSig(q, RESIDUAL_DIGITS), dr, ...(de && { de }) };
}

/** Whether a level change is beyond what the sustained (last) horizon's envelope has seen. */
function beyondSustained(env: readonly number[], shift: number): boolean {
  const { hi, lo } = reach(env, env.length / 4 - 1);
  return shift > hi || shift < lo;
}

/** Typical error of the new model over the old one (bounded), from the smoothed errors. */
function switchRatio(err: readonly [number, number, number], from: number, to: number): number {
  const a = err[from] as number;
  const b = err[to] as number;
  return a > 0 && b > 0 ? clamp(b / a, 0.1, 10) : 1;
}

/**
 * While a new seasonal model settles (`prev.ss`), the history's scale relative to the model's lowest
 * error so far when that error reaches a new low (else 1), and the settling memory to keep.
 */
function settleHistory(
  prev: DetectorState,
  model: 0 | 1 | 2,
  promoted: boolean,
  ts: number,
  settleDays: number,
): { ratio: number; ss?: readonly [number, number] } {
  const err = prev.err[model];
  if (promoted) return settleDays > 0 ? { ratio: 1, ss: [ts + settleDays * DAY_MS, err] } : { ratio: 1 };
  const ss = prev.ss;
  if (ss === undefined || ts >= ss[0] || model === 0) return { ratio: 1 };
  return err > 0 && err < ss[1] ? { ratio: err / ss[1], ss: [ss[0], err] } : { ratio: 1, ss };
}

function scaleAll(xs: readonly number[], k: number): number[] {
  return xs.map((x) => roundSig(x * k, RESIDUAL_DIGITS));
}

/** Back to the series' own units; never NaN / infinite. */
function output(x: number, fallback: number, exp: number): number {
  return fromUnits(Number.isFinite(x) ? x : fallback, exp);
}

/** Non-finite input: nothing is learned, nothing is flagged. */
function unscored(prev: DetectorState | undefined): PointScore {
  const state = prev ?? emptyState();
  const expected = fromUnits(state.m === 0 ? state.flat : state.level, state.exp);
  return {
    state,
    score: 0,
    anomalous: false,
    ongoing: false,
    expected,
    band: { lo: expected, hi: expected },
    z: 0,
    warmingUp: state.n < 2,
  };
}
