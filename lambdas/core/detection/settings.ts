/**
 * Tunables of the streaming detector. Counts are in points (samples) of the series, times in
 * days of event time. Defaults were chosen on the labelled dev set (NAB realAWSCloudwatch) and
 * checked for stability under perturbation; see the detection section of the README/report.
 */
export interface DetectorSettings {
  // — The seed's residual rule (z / IQR fences against recent residuals) —
  /** Robust z (MAD-based) at or beyond which a residual is out of band, in the bad direction. */
  readonly zThreshold: number;
  /** IQR fence multiplier: outside Q1 − k·IQR / Q3 + k·IQR is out of band. */
  readonly iqrK: number;
  /**
   * Whether paging also requires the rule above. Off by default: on the dev set it vetoes real
   * shifts that start in a noisy stretch (fixed-threshold NAB 70.4 → 64.1, optimised unchanged).
   */
  readonly requireRule: boolean;
  /** Recent residuals kept for median / MAD / quartiles (fixed size: bounds the state), 8..88. */
  readonly residualWindow: number;
  /** Residual scale floor relative to the series' typical magnitude (constant series). */
  readonly scaleFloorRel: number;
  /** Absolute residual scale floor, in the series' units. */
  readonly scaleFloorAbs: number;

  // — Baseline (Holt-Winters) —
  /** Holt level smoothing (EWMA weight) per nominal interval. */
  readonly levelAlpha: number;
  /** Residuals beyond ±huberK·scale are clipped before they move the baseline; 0 = no clipping. */
  readonly huberK: number;
  /** Holt trend smoothing per nominal interval; 0 (default: it did not help) disables the trend. */
  readonly trendBeta: number;
  /** Trend damping per nominal interval. */
  readonly trendDamping: number;
  /** Hour-of-day profile: share of a slot's error learned per day of data (any sampling rate). */
  readonly dayGamma: number;
  /** Day-of-week profile: share of a slot's error learned per week of data. */
  readonly weekGamma: number;
  /** Time constant (days) of the slow base level the seasonal profiles learn against. */
  readonly baseDays: number;
  /** Days of history before the daily profile may be used. */
  readonly dayMinDays: number;
  /** Days of history before the weekly profile may be used. */
  readonly weekMinDays: number;
  /**
   * The forecast model (flat, daily, daily + weekly) changes only when another one has cut the
   * mean absolute error of the one in use by this fraction (hysteresis).
   */
  readonly seasonMargin: number;
  /** Time constant (days) of the per-model mean absolute errors that choose the model. */
  readonly modelErrDays: number;
  /** Smoothing of the series magnitude (scale floor, decade) per point. */
  readonly errAlpha: number;

  // — Novelty against the series' own history —
  /** Residual horizons, in points, whose novelty is tracked (1 = the point itself); 1..4 of them. */
  readonly horizons: readonly number[];
  /** Points before residuals start to shape the novelty envelope (baseline transients). */
  readonly envelopeStart: number;
  /** The novelty envelope remembers between this many and half as many days; 0 never forgets. */
  readonly envelopeMemoryDays: number;
  /**
   * When the envelope's buckets rotate, this share of how far the older bucket reached beyond the
   * newer one is carried over (and so on, fading geometrically), instead of being dropped; the longest
   * stuck run is carried the same way. On months of data a hard 28-day memory pages on every
   * 28-day record; 0 = drop.
   */
  readonly envelopeCarry: number;
  /**
   * For this many days after a seasonal model first takes over, the envelope (and what it is judged
   * with) shrinks with the model's error each time that error reaches a new low: the records of the
   * profile still converging are re-expressed in its settled error instead of blinding a strongly
   * seasonal series for months. 0 = only the one re-expression at the take-over.
   */
  readonly settleDays: number;
  /**
   * A point (the first horizon) that breaks the envelope counts only beyond this share of the typical
   * amount by which the series breaks its own records when nothing is wrong (learned from the records
   * that did not page). A series whose records come in big jumps is not news for breaking one by a
   * hair: on the dev set most such pages were false. 0 = off.
   */
  readonly recordMargin: number;
  /**
   * What alert episodes reach is kept apart from the envelope and forgotten this many quiet
   * points after the last alert, so one incident does not hide the next for weeks. 0 = off.
   */
  readonly episodeMemoryPoints: number;
  /**
   * When an excursion starts (a sustained horizon breaks the envelope, either direction), the
   * pre-excursion level is held as an anchor for this many points; moving back toward it is a
   * recovery and is not novel (no page when a dip recovers on an 'up'-bad signal). 0 = off.
   */
  readonly anchorPoints: number;
  /** ... but never more than this many days of event time (0: points only). */
  readonly anchorMaxDays: number;

  // — Level shifts and drifts —
  /**
   * Shift novelty (the fast level against the slow base level, beyond every such gap the series
   * has had, in envelope widths) at which its confidence reaches 0.5 on a mature history; 0 = off.
   */
  readonly shiftScale: number;
  /** Days of history before the shift envelope learns (the slow base level's start-up transient). */
  readonly shiftStartDays: number;
  /** Days of history after which the shift part is read (learning starts at `shiftStartDays`). */
  readonly shiftReadDays: number;
  /**
   * Envelope widths a gap must break the shift envelope by when the part is first read, falling linearly
   * to `shiftScale` at twice `shiftStartDays` of history (an envelope learned from hours breaks easily).
   */
  readonly shiftEarlyScale: number;
  /**
   * Time constant (days) at which the shift envelope widens toward a new extreme gap (a drift
   * outruns it); the density part's threshold and envelope learn at the same pace.
   */
  readonly shiftLearnDays: number;
  // — Density of exceedances —
  /**
   * Density novelty (the recent share of points that stand out from their neighbours by more than
   * the series' usual high quantile, beyond every such share it has had, in envelope widths) at
   * which its confidence reaches 0.5 on a mature history; 0 = off.
   */
  readonly densityScale: number;
  /** Share of points the exceedance threshold is learned to leave above it (1 − its quantile). */
  readonly densityShare: number;
  /** Points the recent share of exceedances is averaged over. */
  readonly densityPoints: number;
  // — Lone spikes and dips —
  /**
   * A point that stands out from both neighbours on one side (judged at the next point) counts once it
   * breaks every such deviation the series has had by more than this many envelope widths, and then in
   * full: spikes inside the range of a series whose level moves. 0 = off (every small record of the
   * noise's own spikes would count).
   */
  readonly spikeGate: number;

  // — Confidence and paging —
  /** Points before any alert may be raised (baseline and residual window are filling). */
  readonly warmupPoints: number;
  /** Novelty (in envelope widths) at which confidence reaches 0.5 on a mature history. */
  readonly noveltyScale: number;
  /** Novelty counts in full only after this many points (young histories break records easily). */
  readonly maturityPoints: number;
  /**
   * ... but never more than this many days of event time (0: points only): 2000 points are a
   * week at 5-minute spacing and 83 days on hourly data, which would never be trusted.
   */
  readonly maturityMaxDays: number;
  /** Confidence at or above which an anomalous point pages. */
  readonly minConfidence: number;
  /** After an alert episode, a new alert needs this many quiet points (confidence is halved meanwhile). */
  readonly refractoryPoints: number;
  /**
   * ... but never more than this many hours of event time (0: points only). 200 points would be
   * 17 hours at 5-minute spacing and 8 days on hourly data, where it blocks the next real incident
   * (a second one the same day) more often than it spares a repeat page; 6–10 hours score alike on
   * both suites (docs/detection.md, "refractory cap"), 8 is the middle.
   */
  readonly refractoryMaxHours: number;
  /** Confidence at or above which an anomaly pages even during the refractory period. */
  readonly refractoryBypass: number;

  /** Significant digits kept for the level and error terms in the persisted state. */
  readonly stateDigits: number;
}

export const DEFAULT_DETECTOR_SETTINGS: DetectorSettings = Object.freeze({
  zThreshold: 4,
  iqrK: 3,
  requireRule: false,
  residualWindow: 48,
  scaleFloorRel: 1e-3,
  scaleFloorAbs: 1e-9,

  levelAlpha: 0.05,
  huberK: 4,
  trendBeta: 0,
  trendDamping: 0.9,
  dayGamma: 0.4,
  weekGamma: 0.3,
  baseDays: 2,
  dayMinDays: 1.5,
  weekMinDays: 14,
  seasonMargin: 0.1,
  modelErrDays: 3,
  errAlpha: 0.01,

  horizons: Object.freeze([1, 3]),
  envelopeStart: 20,
  envelopeMemoryDays: 28,
  envelopeCarry: 0.75,
  settleDays: 7,
  recordMargin: 0.5,
  episodeMemoryPoints: 1440,
  anchorPoints: 1000,
  anchorMaxDays: 10,

  shiftScale: 1,
  shiftStartDays: 2,
  shiftReadDays: 2.5,
  shiftEarlyScale: 3,
  shiftLearnDays: 1,
  densityScale: 1.25,
  densityShare: 0.05,
  densityPoints: 24,
  spikeGate: 0.25,

  warmupPoints: 60,
  noveltyScale: 0.04,
  maturityPoints: 2000,
  maturityMaxDays: 7,
  minConfidence: 0.5,
  refractoryPoints: 200,
  refractoryMaxHours: 8,
  refractoryBypass: 0.95,

  stateDigits: 6,
});

let lastOverrides: Partial<DetectorSettings> | undefined;
let lastSnapshot: Record<string, unknown> = {};
let lastResolved: DetectorSettings = DEFAULT_DETECTOR_SETTINGS;

/**
 * Defaults with `overrides` applied and validated (throws on invalid values). The last result
 * is memoised (same object with the same own values), so passing one overrides object for every
 * point of a stream costs a shallow compare.
 */
export function resolveSettings(overrides?: Partial<DetectorSettings>): DetectorSettings {
  if (!overrides) return DEFAULT_DETECTOR_SETTINGS;
  if (overrides === lastOverrides && sameOwnValues(overrides, lastSnapshot)) return lastResolved;
  const snapshot: Record<string, unknown> = { ...overrides };
  const merged: Record<string, unknown> = { ...DEFAULT_DETECTOR_SETTINGS };
  for (const [k, v] of Object.entries(snapshot)) if (v !== undefined) merged[k] = v;
  const resolved = Object.freeze(validateDetectorSettings(merged as unknown as DetectorSettings));
  lastOverrides = overrides;
  lastSnapshot = snapshot;
  lastResolved = resolved;
  return resolved;
}

function sameOwnValues(a: object, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if ((a as Record<string, unknown>)[k] !== b[k]) return false;
  return true;
}

export function validateDetectorSettings(s: DetectorSettings): DetectorSettings {
  const problems: string[] = [];
  const num = (k: keyof DetectorSettings, lo: number, hi: number, int = false) => {
    const v = s[k] as unknown;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v)))
      problems.push(`${k} must be ${int ? 'an integer' : 'a number'} in ${lo}..${hi}`);
  };
  num('warmupPoints', 0, 1e6, true);
  num('zThreshold', 0.5, 100);
  num('iqrK', 0, 100);
  num('levelAlpha', 1e-4, 1);
  num('anchorPoints', 0, 1e6, true);
  num('trendBeta', 0, 1);
  num('trendDamping', 0, 1);
  num('dayGamma', 0, 1);
  num('weekGamma', 0, 1);
  num('baseDays', 0.1, 365);
  num('dayMinDays', 0, 1e4);
  num('weekMinDays', 0, 1e4);
  num('seasonMargin', 0, 1);
  num('modelErrDays', 0.01, 365);
  num('errAlpha', 1e-5, 1);
  num('huberK', 0, 1e3);
  num('residualWindow', 8, 88, true);
  num('scaleFloorRel', 0, 1);
  num('scaleFloorAbs', 0, 1e12);
  num('envelopeStart', 0, 1e6, true);
  num('envelopeMemoryDays', 0, 3650);
  num('noveltyScale', 1e-6, 1e6);
  num('maturityPoints', 0, 1e7, true);
  num('maturityMaxDays', 0, 3650);
  num('shiftScale', 0, 1e6);
  num('shiftStartDays', 0, 365);
  num('shiftReadDays', 0, 730);
  num('shiftEarlyScale', 0, 1e6);
  num('shiftLearnDays', 1e-3, 365);
  num('densityScale', 0, 1e6);
  num('densityShare', 1e-3, 0.5);
  num('densityPoints', 2, 1e4, true);
  num('spikeGate', 0, 1e6);
  num('refractoryPoints', 0, 1e6, true);
  num('refractoryMaxHours', 0, 1e5);
  num('minConfidence', 0, 1);
  num('refractoryBypass', 0, 1);
  num('episodeMemoryPoints', 0, 1e7, true);
  num('envelopeCarry', 0, 1);
  num('settleDays', 0, 60);
  num('recordMargin', 0, 100);
  num('anchorMaxDays', 0, 3650);
  num('stateDigits', 3, 15, true);
  if (typeof s.requireRule !== 'boolean') problems.push('requireRule must be a boolean');
  const h = s.horizons as unknown;
  if (
    !Array.isArray(h) ||
    h.length < 1 ||
    h.length > 4 ||
    !h.every((m) => Number.isInteger(m) && m >= 1 && m <= s.residualWindow)
  )
    problems.push('horizons must be 1..4 integers in 1..residualWindow');
  if (problems.length) throw new Error(`invalid detector settings: ${problems.join('; ')}`);
  return s;
}
