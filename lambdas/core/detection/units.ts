/**
 * The detector works in the series' own decade: values are divided by 10^exp, where exp follows
 * the series' magnitude. Stored numbers then stay short in JSON whatever the metric's scale
 * (bytes at 1e15 or ratios at 1e-3), which is what keeps the state's size bounded; everything
 * scale-free (z, novelty, confidence) is unaffected, and expectations are scaled back on output.
 */
import { roundSig } from './numeric.js';
import type { DetectorState } from './state.js';

const MAX_EXP = 300;
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** x / 10^exp (exact powers of ten where they exist). */
export function toUnits(x: number, exp: number): number {
  if (exp === 0) return x;
  if (exp > 0) return exp < POW10.length ? x / (POW10[exp] as number) : x / 10 ** exp;
  return -exp < POW10.length ? x * (POW10[-exp] as number) : x * 10 ** -exp;
}

export function fromUnits(x: number, exp: number): number {
  return toUnits(x, -exp);
}

/** Decade of a magnitude (0 for 0). */
export function decadeOf(magnitude: number): number {
  const m = Math.abs(magnitude);
  if (!(m > 0) || !Number.isFinite(m)) return 0;
  return Math.max(-MAX_EXP, Math.min(MAX_EXP, Math.floor(Math.log10(m))));
}

/** Re-expresses a state whose magnitude drifted out of [1e-3, 1e3] units in its new decade. */
export function renormalise(state: DetectorState, levelDigits: number, digits: number): DetectorState {
  const m = state.mag;
  if (!(m > 0) || (m >= 1e-3 && m <= 1e3)) return state;
  const shift = decadeOf(m);
  const exp = state.exp + shift;
  const at = (x: number, d: number) => roundSig(toUnits(x, shift), d);
  const all = (xs: readonly number[]) => xs.map((x) => at(x, digits));
  return {
    ...state,
    exp,
    level: at(state.level, levelDigits),
    flat: at(state.flat, levelDigits),
    base: at(state.base, levelDigits),
    anchor: at(state.anchor, levelDigits),
    last: at(state.last, levelDigits),
    ...(state.lb !== undefined && { lb: at(state.lb, levelDigits) }),
    ...(state.ss !== undefined && { ss: [state.ss[0], at(state.ss[1], levelDigits)] as const }),
    trend: at(state.trend, levelDigits),
    err: [at(state.err[0], levelDigits), at(state.err[1], levelDigits), at(state.err[2], levelDigits)],
    mag: at(state.mag, levelDigits),
    day: all(state.day),
    week: all(state.week),
    res: all(state.res),
    env: all(state.env),
    epi: all(state.epi),
    sh: all(state.sh),
    she: all(state.she),
    ro: all(state.ro),
    sp: all(state.sp),
    ...(state.dq !== undefined && { dq: at(state.dq, digits) }),
    lv: state.lv.map((x) => at(x, 4)),
  };
}
