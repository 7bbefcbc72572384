/** Small numeric helpers shared by the detector: rounding for compact state, clamping. */

const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * `x` on a grid of `grain` (a power of ten), rounded down or up so that on average it is `x`:
 * `dither` in [0, 1) decides, so a slowly learned value moving by less than half a grain per
 * point still gets there (rounding to the nearest would hold it still).
 */
export function roundToGrain(x: number, grain: number, dither: number): number {
  const k = Math.floor(x / grain + dither);
  if (k === 0) return 0;
  return grain < 1 ? k / Math.round(1 / grain) : k * grain;
}

/** The power of ten that leaves `digits` significant digits at magnitude `x` (1 for 0). */
export function grainOf(x: number, digits: number): number {
  if (x === 0 || !Number.isFinite(x)) return 1;
  return 10 ** (Math.floor(Math.log10(Math.abs(x))) - digits + 1);
}

/**
 * Rounds to `digits` significant digits so the value prints short in JSON.
 * Exact powers of ten are used on both sides of the decimal point, so the result is the double
 * nearest to the decimal (no `0.30000000000000004` tails).
 */
export function roundSig(x: number, digits: number): number {
  if (x === 0 || !Number.isFinite(x)) return 0;
  const exp = Math.floor(Math.log10(Math.abs(x)));
  const shift = digits - 1 - exp;
  if (shift >= 0) {
    if (shift > 22) return Number(x.toPrecision(digits));
    const f = POW10[shift] as number;
    return Math.round(x * f) / f;
  }
  if (-shift > 22) return Number(x.toPrecision(digits));
  const f = POW10[-shift] as number;
  return Math.round(x / f) * f;
}

/**
 * An older extreme fading into a newer one: `newer` moved `carry` of the way toward `older` (then
 * `round`ed) when `older` lies beyond it on `side` (1: above, −1: below); `newer` itself otherwise.
 */
export function fadeToward(
  newer: number,
  older: number,
  carry: number,
  side: 1 | -1,
  round: (x: number) => number,
): number {
  return carry > 0 && side * (older - newer) > 0 ? round(newer + carry * (older - newer)) : newer;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : Math.min(x, hi);
}

/** `x` when finite, `fallback` otherwise (NaN / ±Infinity never leave the detector). */
export function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}

/**
 * Smoothing weight for a step of `k` nominal intervals given the per-interval weight `alpha`
 * (`alpha` = 1: the weight of a step of k time constants, 1 − e^−k).
 */
export function stepWeight(alpha: number, k: number): number {
  if (alpha >= 1) return 1 - Math.exp(-k);
  return k === 1 ? alpha : 1 - (1 - alpha) ** k;
}
