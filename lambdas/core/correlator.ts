import type { ChangeRecord } from './envelope.js';
import { MINUTE_MS, DAY_MS } from './time.js';

/** How far from an anomaly's start a change still counts as a possible cause (seed 004 §B). */
export const CORRELATION_WINDOW_MS = 30 * MINUTE_MS;
/** Maintenance windows and campaigns can run for days: look that far back for their start. */
export const CHANGE_LOOKBACK_MS = 14 * DAY_MS;

export interface CorrelatedChange {
  id?: string;
  tenant: string;
  change: ChangeRecord['change'];
  ts: number;
  until?: number;
  region?: string;
  title?: string;
  /** Minutes from the change's start to the anomaly's start (negative: the change came first). */
  offsetMinutes: number;
}

export interface ChangeAssessment {
  correlated: CorrelatedChange[];
  /** A maintenance window covers the anomaly: nothing should page. */
  maintenance?: CorrelatedChange;
  /** The newest release / flag / experiment near the anomaly: recommend rolling it back. */
  appChange?: CorrelatedChange;
  /** A campaign explains a tenant surge: expected, soft actions only. */
  campaign?: CorrelatedChange;
}

/**
 * Changes of the same tenant (or `*`) and region (when both name one) whose span, widened by
 * ±30 minutes, contains the anomaly's start; the closest first.
 *
 * @example
 * const { correlated } = correlateChanges({ tenant: 'acme', start: Date.parse('2026-11-22T10:00Z') }, changes);
 * correlated[0]?.offsetMinutes; // minutes from the closest change to the anomaly's start
 */
export function correlateChanges(
  anomaly: { tenant: string; region?: string; start: number },
  changes: readonly ChangeRecord[],
  windowMs = CORRELATION_WINDOW_MS,
): ChangeAssessment {
  const correlated = changes
    .filter(
      (c) =>
        (c.tenant === anomaly.tenant || c.tenant === '*') &&
        (!c.region || !anomaly.region || c.region === anomaly.region),
    )
    .filter((c) => anomaly.start >= c.ts - windowMs && anomaly.start <= (c.until ?? c.ts) + windowMs)
    .map((c): CorrelatedChange => {
      const out: CorrelatedChange = {
        tenant: c.tenant,
        change: c.change,
        ts: c.ts,
        offsetMinutes: Math.round((anomaly.start - c.ts) / MINUTE_MS),
      };
      if (c.id !== undefined) out.id = c.id;
      if (c.until !== undefined) out.until = c.until;
      if (c.region !== undefined) out.region = c.region;
      if (c.title !== undefined) out.title = c.title;
      return out;
    })
    .sort((a, b) => Math.abs(a.offsetMinutes) - Math.abs(b.offsetMinutes) || b.ts - a.ts);
  const assessment: ChangeAssessment = { correlated };
  // Maintenance suppresses only while it is actually running (its span, not the ±30 min margin).
  const maintenance = correlated.find(
    (c) => c.change === 'maintenance' && anomaly.start >= c.ts && anomaly.start <= (c.until ?? c.ts + windowMs),
  );
  if (maintenance) assessment.maintenance = maintenance;
  const appChange = correlated.find((c) => c.change === 'release' || c.change === 'flag' || c.change === 'experiment');
  if (appChange) assessment.appChange = appChange;
  const campaign = correlated.find((c) => c.change === 'campaign');
  if (campaign) assessment.campaign = campaign;
  return assessment;
}
