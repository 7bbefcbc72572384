import type { Anomaly } from '../anomaly.js';

/** Anomaly records: one per confirmed episode; the record is what makes the alert go out once. */
export interface AnomalyStore {
  /**
   * Store the anomaly unless its episode is already stored; says whether the alert still has to be
   * sent, and gives the anomaly as stored (the first decision stands when an episode is seen again).
   */
  open(anomaly: Anomaly): Promise<{ notify: boolean; stored: Anomaly }>;
  markNotified(anomaly: Anomaly, at: number): Promise<void>;
  markRecovered(episode: { id: string; start: number; key: string }, at: number): Promise<void>;
}

/** An anomaly as stored: when it was alerted and when its episode closed. */
export type StoredAnomaly = Anomaly & { notifiedAt?: number; recoveredAt?: number };

/** What the operator API and the reports read. */
export interface AnomalyReader {
  /** By episode key (`<tenant>#<signal>@<start minute>Z`). */
  get(id: string): Promise<StoredAnomaly | undefined>;
  /** Episodes that started in [from, to], oldest first. */
  between(from: number, to: number): Promise<StoredAnomaly[]>;
}

/**
 * How wide an incident is, from the anomalies the consumer stored (the only writer of anomaly
 * records): a producer cannot make an incident look wider than the anomalies it really caused.
 */
export interface IncidentReader {
  /**
   * Distinct tenants with an anomaly on one of `signals` that started in [from, to] (recovered or not: it is the same
   * fault).
   */
  tenantsWithAnomaly(signals: readonly string[], from: number, to: number): Promise<string[]>;
}
