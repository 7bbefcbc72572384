import type { AnomalyClass } from '../classifier.js';
import type { BaselineLimit, Playbook } from './actions.js';

/**
 * The four playbooks of seed 004 §C, as data. Soft steps come before hard ones; within a level,
 * steps are listed in the order they are applied (and rolled back in reverse).
 * Value shapes per target kind are described in README.md ("Step values").
 */

const limit = (
  signal: string,
  timesBaseline: number,
  burstTimesBaseline: number,
  per: BaselineLimit['per'],
): BaselineLimit => ({ kind: 'baseline-limit', signal, timesBaseline, burstTimesBaseline, per });

/** 1. One tenant's ingest surge: spend the burst credit, degrade gracefully, then cache and throttle. */
export const INGEST_SURGE: Playbook = {
  id: 'ingest-surge',
  title: 'Tenant ingest surge',
  classes: ['tenant'],
  signals: ['ingest_rpm', 'cir_p95'],
  steps: [
    // The tenant's burst credit is used up: cap it at 3x its normal rate (bites only on a real surge).
    {
      id: 'ingest-surge/burst-credit',
      title: 'Burst credit spent: cap ingest at 3x the baseline rate',
      level: 'soft',
      target: 'usage-plan',
      flag: '@tenant',
      value: limit('ingest_rpm', 3, 3, 'second'),
      undo: 'restore-previous',
    },
    {
      id: 'ingest-surge/sampling',
      title: 'Soft throttle: keep half of the low-priority records',
      level: 'soft',
      target: 'flag',
      flag: 'ingest.sampling.low_priority_keep',
      value: 0.5,
      undo: 'restore-previous',
    },
    {
      id: 'ingest-surge/trim-fields',
      title: 'Soft throttle: store essential fields only',
      level: 'soft',
      target: 'flag',
      flag: 'ingest.fields.mode',
      value: 'essential',
      undo: 'restore-previous',
    },
    {
      id: 'ingest-surge/force-cache',
      title: "Serve the tenant's reads from cache (stale up to 5 min)",
      level: 'hard',
      target: 'flag',
      flag: 'cache.force',
      value: { enabled: true, maxStaleSeconds: 300 },
      undo: 'restore-previous',
    },
    {
      id: 'ingest-surge/rate-limit',
      title: 'Throttle ingest at 1.5x the baseline rate',
      level: 'hard',
      target: 'usage-plan',
      flag: '@tenant',
      value: limit('ingest_rpm', 1.5, 2, 'second'),
      undo: 'restore-previous',
    },
  ],
};

/** 2. Search cost surge (seed §C 2 and the worked example of §4). */
export const SEARCH_COST: Playbook = {
  id: 'search-cost',
  title: 'Search cost surge',
  classes: ['app', 'infra'],
  signals: ['cqs_p95', 'search_qps', 'cost_per_tb_scanned', 'filter_cache_hit'],
  steps: [
    {
      id: 'search-cost/cache-ttl',
      title: 'Raise the search cache TTL to 90 s',
      level: 'soft',
      target: 'flag',
      flag: 'search.cache.ttl_seconds',
      value: 90,
      undo: 'restore-previous',
    },
    {
      id: 'search-cost/rows-limit',
      title: 'Cap rows at 200',
      level: 'soft',
      target: 'flag',
      flag: 'search.rows.max',
      value: 200,
      undo: 'restore-previous',
    },
    {
      id: 'search-cost/facet-limit',
      title: 'Cap facet.limit at 50',
      level: 'soft',
      target: 'flag',
      flag: 'search.facet.limit.max',
      value: 50,
      undo: 'restore-previous',
    },
    {
      id: 'search-cost/saved-queries-only',
      title: 'Allow saved queries only',
      level: 'hard',
      target: 'flag',
      flag: 'search.queries.saved_only',
      value: true,
      undo: 'restore-previous',
    },
    {
      id: 'search-cost/block-expensive',
      title: 'Block expensive queries',
      level: 'hard',
      target: 'flag',
      flag: 'search.queries.block_expensive',
      value: true,
      undo: 'restore-previous',
    },
  ],
};

/**
 * 3. Notification storm. Notifications and webhooks are outbound, which a WAF never sees: the
 * hard limits are flags the notifier reads.
 */
export const NOTIFICATION_STORM: Playbook = {
  id: 'notification-storm',
  title: 'Notification storm',
  classes: ['abuse'],
  signals: ['notify_rpm', 'webhook_rps', 'cin_p95'],
  steps: [
    {
      id: 'notification-storm/dedupe-window',
      title: 'Widen the same-incident dedupe window from 15 to 30 min',
      level: 'soft',
      target: 'flag',
      flag: 'notify.dedupe.window_minutes',
      value: 30,
      undo: 'restore-previous',
    },
    {
      id: 'notification-storm/channel-priority',
      title: 'Deliver on Slack and email first, defer other channels',
      level: 'soft',
      target: 'flag',
      flag: 'notify.channels.priority',
      value: { order: ['slack', 'email'], others: 'deferred' },
      undo: 'restore-previous',
    },
    {
      id: 'notification-storm/digest',
      title: 'Batch non-critical notifications into a 30-min digest',
      level: 'hard',
      target: 'flag',
      flag: 'notify.non_critical.mode',
      value: 'digest',
      undo: 'restore-previous',
    },
    {
      id: 'notification-storm/notify-rate-limit',
      title: 'Limit notifications to 2x the baseline rate',
      level: 'hard',
      target: 'flag',
      flag: 'notify.rate.max_per_minute',
      value: limit('notify_rpm', 2, 2, 'minute'),
      undo: 'restore-previous',
    },
    {
      id: 'notification-storm/webhook-rate-limit',
      title: 'Limit webhook deliveries to 2x the baseline rate',
      level: 'hard',
      target: 'flag',
      flag: 'webhook.rate.max_per_second',
      value: limit('webhook_rps', 2, 2, 'second'),
      undo: 'restore-previous',
    },
  ],
};

/** 4. Origin bottleneck. The CDN and the origin are shared: these steps are platform-scoped. */
export const ORIGIN_BOTTLENECK: Playbook = {
  id: 'origin-bottleneck',
  title: 'Origin bottleneck',
  classes: ['infra'],
  signals: ['origin_p95_ms', 'edge_p95_ms', 'cache_hit_ratio'],
  steps: [
    {
      id: 'origin-bottleneck/cache-key-normalise',
      title: 'Normalise CDN cache keys (drop tracking parameters, sort the query)',
      level: 'soft',
      target: 'flag',
      scope: 'platform',
      flag: 'cdn.cache_key.normalise',
      value: { enabled: true, dropQuery: ['utm_*', 'fbclid', 'gclid'], sortQuery: true },
      undo: 'restore-previous',
    },
    {
      id: 'origin-bottleneck/cdn-invalidate',
      title: 'Invalidate the fragmented cache entries',
      level: 'soft',
      target: 'cdn-invalidation',
      scope: 'platform',
      flag: '@distribution',
      value: { paths: ['/*'] },
      undo: 'none',
    },
    {
      id: 'origin-bottleneck/read-only-failover',
      title: 'Fail over to the read-only origin',
      level: 'hard',
      target: 'flag',
      scope: 'platform',
      flag: 'origin.failover',
      value: 'read-only',
      undo: 'restore-previous',
    },
    // The web ACL's rate-based rule of this name carries the CHALLENGE (proof-of-work) action; the step sets its limit.
    {
      id: 'origin-bottleneck/challenge',
      title: 'Proof-of-work challenge above 300 requests per IP per window',
      level: 'hard',
      target: 'waf-rate-limit',
      scope: 'platform',
      flag: 'anomaly-guard-challenge',
      value: 300,
      undo: 'restore-previous',
    },
  ],
};

export const PLAYBOOKS: readonly Playbook[] = [INGEST_SURGE, SEARCH_COST, NOTIFICATION_STORM, ORIGIN_BOTTLENECK];

/** The playbook for a class when no playbook names the anomaly's signal. */
export const DEFAULT_PLAYBOOK_BY_CLASS: Readonly<Record<AnomalyClass, string>> = {
  tenant: INGEST_SURGE.id,
  app: SEARCH_COST.id,
  infra: ORIGIN_BOTTLENECK.id,
  abuse: NOTIFICATION_STORM.id,
};

export class UnknownPlaybookError extends Error {
  readonly code = 'UNKNOWN_PLAYBOOK';
  constructor(readonly requested: string) {
    super(`unknown playbook "${requested}"; known: ${PLAYBOOKS.map((p) => p.id).join(', ')}`);
    this.name = 'UnknownPlaybookError';
  }
}

export function playbookById(id: string): Playbook {
  const found = PLAYBOOKS.find((p) => p.id === id);
  if (!found) throw new UnknownPlaybookError(id);
  return found;
}

/** How a playbook was chosen: carried on the plan so an operator can see why. */
export type PlaybookSelection = 'requested' | 'signal+class' | 'signal' | 'class';

/**
 * The playbook for an anomaly: one that names both its signal and class, else one that names its
 * signal (the signal says what is burning, e.g. a crawl on `search_qps` classified `abuse`), else
 * the class default.
 *
 * @example
 * // a crawl: the signal's playbook wins over the class default
 * const { playbook, selectedBy } = selectPlaybook('abuse', 'search_qps');
 */
export function selectPlaybook(
  cls: AnomalyClass,
  signal: string,
): { playbook: Playbook; selectedBy: PlaybookSelection } {
  const bySignal = PLAYBOOKS.filter((p) => p.signals?.includes(signal));
  const exact = bySignal.find((p) => p.classes.includes(cls));
  if (exact) return { playbook: exact, selectedBy: 'signal+class' };
  if (bySignal[0]) return { playbook: bySignal[0], selectedBy: 'signal' };
  return { playbook: playbookById(DEFAULT_PLAYBOOK_BY_CLASS[cls]), selectedBy: 'class' };
}

/** Every step id of every playbook (what `mitigation.stepApproval` may name). */
export const PLAYBOOK_STEP_IDS = PLAYBOOKS.flatMap((p) => p.steps.map((s) => s.id)) as [string, ...string[]];
