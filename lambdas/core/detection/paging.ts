/**
 * From evidence to a paging decision. Confidence grows with novelty (how far beyond everything
 * the series has done recently), discounted while the history is young; after an alert run ends,
 * new alerts wait out a refractory period (one incident, one page — a continuing run still
 * counts, so "3 consecutive minutes" triggers keep working).
 */
import { clamp, finiteOr } from './numeric.js';
import type { DetectorSettings } from './settings.js';
import { COUNT_CAP } from './state.js';

export interface PagingInput {
  /** Novelty in the bad direction, in envelope widths (≥ 0). */
  readonly novelty: number;
  /** The DESIGN's z / IQR-fence rule fired in the bad direction. */
  readonly outOfBand: boolean;
  /** Points seen before this one. */
  readonly history: number;
  readonly warmingUp: boolean;
  /** Points since the last alert, and the length of the alert run ending at the previous point. */
  readonly quiet: number;
  readonly run: number;
}

export interface PagingDecision {
  readonly confidence: number;
  readonly anomalous: boolean;
  readonly quiet: number;
  readonly run: number;
}

export function decide(p: PagingInput, s: DetectorSettings): PagingDecision {
  let confidence = 0;
  if (!p.warmingUp) {
    const maturity = s.maturityPoints > 0 ? Math.min(1, p.history / s.maturityPoints) : 1;
    const evidence = p.novelty * maturity;
    confidence = evidence / (evidence + s.noveltyScale);
  }
  const refractory = p.run === 0 && p.quiet < s.refractoryPoints;
  if (refractory) confidence *= 0.5;
  confidence = clamp(finiteOr(confidence, 0), 0, 1);
  const anomalous = !p.warmingUp && !refractory && confidence >= s.minConfidence && (p.outOfBand || !s.requireRule);
  return {
    confidence,
    anomalous,
    quiet: anomalous ? 0 : Math.min(p.quiet + 1, COUNT_CAP),
    run: anomalous ? Math.min(p.run + 1, COUNT_CAP) : 0,
  };
}
