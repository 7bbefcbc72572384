/** Small numeric helpers shared by the detector: rounding for compact state, clamping, tails. */

const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Rounds to `digits` significant digits so the value prints short in JSON.
 * Exact powers of ten are used on both sides of the decimal point, so the result is the double
 * nearest to the decimal (no `0.30000000000000004` tails).
 */
export function roundSig(x: number, digits: number): number {
  if (x === 0 || !Number.isFinite(x)) return Number.isFinite(x) ? 0 : 0;
  const exp = Math.floor(Math.log10(Math.abs(x)));
  const shift = digits - 1 - exp;
  if (shift >= 0) {
    if (shift > 22) return 0; // below ~1e-22: noise for any metric we score
    const f = POW10[shift] as number;
    return Math.round(x * f) / f;
  }
  if (-shift > 22) return x;
  const f = POW10[-shift] as number;
  return Math.round(x / f) * f;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** `x` when finite, `fallback` otherwise (NaN / ±Infinity never leave the detector). */
export function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}

/** Smoothing weight for a step of `k` nominal intervals given the per-interval weight `alpha`. */
export function stepWeight(alpha: number, k: number): number {
  return k === 1 ? alpha : 1 - (1 - alpha) ** k;
}

/**
 * Complementary error function (Numerical Recipes' Chebyshev fit, |rel err| < 1.2e-7), which
 * stays accurate far into the tail, unlike 1 - erf.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Upper tail of the standard normal: P(Z > z). */
export function normalTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}
