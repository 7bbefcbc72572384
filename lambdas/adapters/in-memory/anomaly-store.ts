import type { Anomaly } from '../../core/anomaly.js';
import type { AnomalyReader, AnomalyStore, IncidentReader, StoredAnomaly } from '../../core/ports/anomaly-store.js';
import { incidentTenants } from '../anomaly-store.js';

/** For replay and backtests. */
export class InMemoryAnomalyStore implements AnomalyStore, AnomalyReader, IncidentReader {
  readonly anomalies = new Map<string, Anomaly & { notifiedAt?: number; recoveredAt?: number }>();
  async open(anomaly: Anomaly): Promise<{ notify: boolean; stored: Anomaly }> {
    const existing = this.anomalies.get(anomaly.id);
    if (existing) {
      const { notifiedAt, recoveredAt: _r, ...stored } = existing;
      return { notify: notifiedAt === undefined, stored };
    }
    this.anomalies.set(anomaly.id, { ...anomaly });
    return { notify: true, stored: anomaly };
  }
  async markNotified(anomaly: Anomaly, at: number): Promise<void> {
    const a = this.anomalies.get(anomaly.id);
    if (a) a.notifiedAt = at;
  }
  async markRecovered(episode: { id: string }, at: number): Promise<void> {
    const a = this.anomalies.get(episode.id);
    if (a) a.recoveredAt = at;
  }
  async get(id: string): Promise<StoredAnomaly | undefined> {
    return this.anomalies.get(id);
  }
  async between(from: number, to: number): Promise<StoredAnomaly[]> {
    return [...this.anomalies.values()]
      .filter((a) => a.start >= from && a.start <= to)
      .sort((a, b) => a.start - b.start);
  }
  async tenantsWithAnomaly(signals: readonly string[], from: number, to: number): Promise<string[]> {
    return incidentTenants([...this.anomalies.values()], signals, from, to);
  }
}
