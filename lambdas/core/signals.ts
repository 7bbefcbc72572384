/** The signal catalogue of seed 004 §A: unit, category and which direction is bad. */
export type SignalCategory = 'usage' | 'cost' | 'infra' | 'engagement';
export type BadDirection = 'up' | 'down' | 'both';

export interface SignalSpec {
  readonly unit: string;
  readonly category: SignalCategory;
  readonly bad: BadDirection;
}

export const KNOWN_SIGNALS: Readonly<Record<string, SignalSpec>> = {
  ingest_rpm: { unit: 'records/min', category: 'usage', bad: 'up' },
  search_qps: { unit: 'queries/s', category: 'usage', bad: 'up' },
  notify_rpm: { unit: 'notifications/min', category: 'usage', bad: 'up' },
  webhook_rps: { unit: 'requests/s', category: 'usage', bad: 'up' },
  cir_p95: { unit: 'USD', category: 'cost', bad: 'up' },
  cqs_p95: { unit: 'USD', category: 'cost', bad: 'up' },
  cin_p95: { unit: 'USD', category: 'cost', bad: 'up' },
  cost_per_tb_scanned: { unit: 'USD/TB', category: 'cost', bad: 'up' },
  cache_hit_ratio: { unit: 'ratio', category: 'infra', bad: 'down' },
  edge_p95_ms: { unit: 'ms', category: 'infra', bad: 'up' },
  origin_p95_ms: { unit: 'ms', category: 'infra', bad: 'up' },
  filter_cache_hit: { unit: 'ratio', category: 'infra', bad: 'down' },
  dlq_growth: { unit: 'messages/min', category: 'infra', bad: 'up' },
  // Derived by the feature builder from activity records (seed 000): low engagement is the anomaly.
  engagement: { unit: 'ratio', category: 'engagement', bad: 'down' },
};

/** Unknown signals are accepted with neutral defaults: either direction may be bad. */
export const NEUTRAL_SIGNAL: SignalSpec = { unit: '', category: 'usage', bad: 'both' };

/**
 * @example
 * signalSpec('cqs_p95');   // { unit: 's', category: 'cost', bad: 'up', … }
 * signalSpec('my_signal'); // NEUTRAL_SIGNAL: either direction may be bad
 */
export function signalSpec(signal: string): SignalSpec {
  return KNOWN_SIGNALS[signal] ?? NEUTRAL_SIGNAL;
}
