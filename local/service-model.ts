/**
 * How the simulated services react to the flags mitigation sets: each flag removes a share of an
 * incident's excess on the signals it acts on (the playbooks' own flags, lambdas/core/mitigation/playbooks.ts).
 * Shares combine multiplicatively, so two flags at 0.5 leave a quarter of the excess. This is what
 * closes the loop locally: the simulator reads the flag table, it is not told the outcome.
 */
const RELIEF: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  cqs_p95: {
    'search.cache.ttl_seconds': 0.45,
    'search.rows.max': 0.3,
    'search.facet.limit.max': 0.2,
    'search.queries.saved_only': 0.6,
    'search.queries.block_expensive': 0.5,
  },
  search_qps: {
    'search.queries.block_expensive': 0.5,
    'search.queries.saved_only': 0.6,
    'search.cache.ttl_seconds': 0.2,
  },
  ingest_rpm: { 'ingest.sampling.low_priority_keep': 0.5, 'ingest.fields.mode': 0.1, 'cache.force': 0.1 },
  edge_p95_ms: { 'cdn.cache_key.normalise': 0.6, 'origin.failover': 0.6 },
  cache_hit_ratio: { 'cdn.cache_key.normalise': 0.6 },
  // The demo's storm is of distinct notifications: a wider dedupe window and channel priority do not reduce it, so the
  // soft stage leaves it where it was (not "improving", which would hand off instead of escalating) and the hard steps
  // (digest, rate limit) wait for an approval.
  notify_rpm: {
    'notify.dedupe.window_minutes': 0,
    'notify.channels.priority': 0,
    'notify.non_critical.mode': 0.5,
    'notify.rate.max_per_minute': 0.7,
  },
};

/** The share of an incident's excess on `signal` that the set flags remove, in [0, 1). */
export function reliefFrom(signal: string, flags: ReadonlySet<string>): number {
  const bySignal = RELIEF[signal];
  if (!bySignal) return 0;
  let remaining = 1;
  for (const [flag, share] of Object.entries(bySignal)) if (flags.has(flag)) remaining *= 1 - share;
  return 1 - remaining;
}

/** The multiplier an incident applies after the service's reaction to the flags. */
export function effectiveFactor(factor: number, signal: string, flags: ReadonlySet<string>): number {
  return 1 + (factor - 1) * (1 - reliefFrom(signal, flags));
}
