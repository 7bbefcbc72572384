/**
 * From evidence to a paging decision. Confidence grows with novelty (how far beyond everything
 * the series has done recently), discounted while the history is young. An alert opens an
 * episode, which stays open (`ongoing`) while points stay out of band (z / IQR-fence rule) in
 * the bad direction — what "3 consecutive minutes" triggers should follow. Once it closes, new
 * alerts wait out a refractory period (one incident, one page).
 */
import { clamp, finiteOr } from './numeric.js';
import type { DetectorSettings } from './settings.js';
import { COUNT_CAP } from './state.js';

export interface PagingInput {
  /** Novelty in the bad direction, in envelope widths (≥ 0). */
  readonly novelty: number;
  /** The seed's z / IQR-fence rule fired in the bad direction. */
  readonly outOfBand: boolean;
  /** The anomaly is still there by another measure (e.g. the value is still stuck). */
  readonly stillOn?: boolean;
  /** Points seen before this one. */
  readonly history: number;
  readonly warmingUp: boolean;
  /** Points since the last alert. */
  readonly quiet: number;
  /** Length of the episode open at the previous point (0: none open). */
  readonly run: number;
  /** Maturity length in points for this series (default: the setting). */
  readonly maturityPoints?: number;
  /** Refractory length in points for this series (default: the setting). */
  readonly refractoryPoints?: number;
}

export interface PagingDecision {
  readonly confidence: number;
  /** Page now: an anomaly starts, or an open one breaks new ground. */
  readonly anomalous: boolean;
  /** An episode that paged is still open at this point (it is still out of band). */
  readonly ongoing: boolean;
  readonly quiet: number;
  readonly run: number;
}

export function decide(p: PagingInput, s: DetectorSettings): PagingDecision {
  let confidence = 0;
  if (!p.warmingUp) {
    const mp = p.maturityPoints ?? s.maturityPoints;
    const maturity = mp > 0 ? Math.min(1, p.history / mp) : 1;
    const evidence = p.novelty * maturity;
    confidence = evidence / (evidence + s.noveltyScale);
  }
  // Right after an episode, only a clearly stronger anomaly pages again.
  const refractory =
    p.run === 0 && p.quiet < (p.refractoryPoints ?? s.refractoryPoints) && confidence < s.refractoryBypass;
  if (refractory) confidence *= 0.5;
  confidence = clamp(finiteOr(confidence, 0), 0, 1);
  const anomalous = !p.warmingUp && !refractory && confidence >= s.minConfidence && (p.outOfBand || !s.requireRule);
  // An episode opens with an alert and stays open while points stay out of band.
  const ongoing = anomalous || (p.run > 0 && (p.outOfBand || p.stillOn === true));
  return {
    confidence,
    anomalous,
    ongoing,
    quiet: anomalous ? 0 : Math.min(p.quiet + 1, COUNT_CAP),
    run: ongoing ? Math.min(p.run + 1, COUNT_CAP) : 0,
  };
}
