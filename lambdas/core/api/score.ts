import { classifyAnomaly, type AnomalyClass } from '../classifier.js';
import { CHANGE_LOOKBACK_MS, correlateChanges, CORRELATION_WINDOW_MS, type CorrelatedChange } from '../correlator.js';
import type { KeyDetection } from '../score-windows.js';
import { scorePoint, type DetectorSettings } from '../detection/index.js';
import type { ChangeRecord } from '../envelope.js';
import { metricKey } from '../observations.js';
import { signalSpec } from '../signals.js';
import type { ScoreRequest } from './schemas.js';

export interface SignalScore {
  tenant: string;
  signal: string;
  ts: number;
  value: number;
  /** Confidence in [0, 1] that the value is anomalous in the signal's bad direction. */
  score: number;
  anomalous: boolean;
  expected: number | null;
  band: { lo: number; hi: number } | null;
  /** `none`: no stored baseline for this key yet; `warming-up`: too little history to alert on. */
  baseline: 'stored' | 'warming-up' | 'none';
  causeCandidates: { class: AnomalyClass; evidence: string[] }[];
  correlatedChanges: CorrelatedChange[];
}

/** Where the band comes from, for readers of the response. */
export const SCORE_METHOD =
  "each value is scored by the key's stored streaming detector (the state the consumer keeps), as if it were the " +
  'next minute; the stored state is not changed';

/**
 * Score values against the stored per-key detectors without changing them (a what-if: the new
 * detector state is discarded). Cause candidates use the same classifier as the consumer, with the
 * other values of the request as the cross-tenant and cross-signal context.
 *
 * @example
 * const result = scoreSignals(request, storedDetectors, changesByTenant);
 * result.scores[0]; // score, expected band and whether the value is anomalous, without changing any state
 */
export function scoreSignals(
  request: ScoreRequest,
  stored: ReadonlyMap<string, KeyDetection | undefined>,
  changesByTenant: ReadonlyMap<string, readonly ChangeRecord[]>,
  detector?: Partial<DetectorSettings>,
): SignalScore[] {
  const scored = request.signals.map((s) => {
    const spec = signalSpec(s.signal);
    const det = stored.get(metricKey(s.tenant, s.signal))?.det;
    const point = det ? scorePoint(det, { ts: s.ts, value: s.value }, spec.bad, detector) : undefined;
    const anomalous = point !== undefined && !point.warmingUp && (point.anomalous || point.ongoing);
    return { s, point, anomalous };
  });
  return scored.map(({ s, point, anomalous }) => {
    const region = s.region ?? request.context?.region;
    const ref: { tenant: string; start: number; region?: string } = { tenant: s.tenant, start: s.ts };
    if (region !== undefined) ref.region = region;
    const changes = correlateChanges(ref, changesByTenant.get(s.tenant) ?? []);
    const result: SignalScore = {
      tenant: s.tenant,
      signal: s.signal,
      ts: s.ts,
      value: s.value,
      score: point && !point.warmingUp ? round(point.score) : 0,
      anomalous,
      expected: point ? round(point.expected) : null,
      band: point ? { lo: round(point.band.lo), hi: round(point.band.hi) } : null,
      baseline: !point ? 'none' : point.warmingUp ? 'warming-up' : 'stored',
      causeCandidates: [],
      correlatedChanges: changes.correlated,
    };
    if (anomalous && point) {
      const sameSignal = new Set(scored.filter((o) => o.anomalous && o.s.signal === s.signal).map((o) => o.s.tenant));
      const concurrentSignals = scored
        .filter((o) => o.anomalous && o.s.tenant === s.tenant && o.s.signal !== s.signal)
        .map((o) => o.s.signal);
      const tenantsAffected = Math.max(sameSignal.size, request.context?.tenantsAffected ?? 1);
      result.causeCandidates.push(
        classifyAnomaly({
          tenant: s.tenant,
          signal: s.signal,
          observed: s.value,
          expected: point.expected,
          changes,
          tenantsAffected,
          concurrentSignals,
          ...(point.kind && { basis: point.kind }),
        }),
      );
    }
    return result;
  });
}

/** The span of change records the correlator may look at for these values. */
export function correlationSpan(request: ScoreRequest): { from: number; to: number } {
  const ts = request.signals.map((s) => s.ts);
  return { from: Math.min(...ts) - CHANGE_LOOKBACK_MS, to: Math.max(...ts) + CORRELATION_WINDOW_MS };
}

function round(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : v;
}
