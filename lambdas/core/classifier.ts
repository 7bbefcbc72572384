import type { ChangeAssessment, CorrelatedChange } from './correlator.js';
import type { AlertKind } from './detection/index.js';
import { signalSpec } from './signals.js';

export type AnomalyClass = 'infra' | 'app' | 'tenant' | 'abuse';

export interface ClassificationInput {
  tenant: string;
  signal: string;
  observed: number;
  expected: number;
  changes: ChangeAssessment;
  /** Tenants showing an anomaly on this signal at the same time, this one included. */
  tenantsAffected: number;
  /** Other signals of this tenant that show an anomaly at the same time. */
  concurrentSignals?: readonly string[];
  /** What the detector's confidence rested on at the quoted minute (absent: the creep rule paged). */
  basis?: AlertKind;
}

export interface Classification {
  class: AnomalyClass;
  /** Why, in words an on-call engineer can check. */
  evidence: string[];
}

/** The detector's parts, in words: what "beyond anything before" meant for this page. */
const BASIS: Record<AlertKind, string> = {
  band: 'went beyond anything it has done in recent weeks',
  shift: 'moved its level away from the last two days further than ever before',
  stuck: 'repeated one value for longer than ever before',
  density: 'has values out of line with their neighbours more often than ever before',
  spike: 'had one value out of line with both its neighbours by more than ever before',
};

const INFRA_SIGNALS = new Set(['cache_hit_ratio', 'filter_cache_hit', 'origin_p95_ms', 'edge_p95_ms', 'dlq_growth']);
const STORM_SIGNALS = new Set(['notify_rpm', 'webhook_rps']);
/** A query surge this many times the baseline looks like a bot or a crawler, not customers. */
const ABUSE_SURGE_RATIO = 5;
/** Usage signals a crawler drives; an ingest surge is a tenant's own traffic (seed 004 §C playbook 1). */
const CRAWLABLE_SIGNALS = new Set(['search_qps']);

/**
 * Seed 004 §B: infra (cache/origin/DLQ) | app (release/flag/experiment, query cost) | tenant (one tenant's surge,
 * campaigns) | abuse (bots, storms).
 *
 * @example
 * classifyAnomaly({
 *   tenant: 'acme',
 *   signal: 'cqs_p95',
 *   observed: 0.0056,
 *   expected: 0.0037,
 *   changes: [],
 *   tenantsAffected: 1,
 * });
 * // → { class: 'tenant', evidence: ['surge concentrated on acme', …] }
 */
export function classifyAnomaly(input: ClassificationInput): Classification {
  const { signal, tenant, changes, tenantsAffected } = input;
  const spec = signalSpec(signal);
  const ratio = input.expected > 0 ? input.observed / input.expected : Number.POSITIVE_INFINITY;
  const evidence = [
    `${signal} ${describeChange(input.observed, input.expected)} (expected ${fmt(input.expected)}, observed ` +
      `${fmt(input.observed)})`,
  ];
  if (input.basis) evidence.push(`${signal} ${BASIS[input.basis]} (detector: ${input.basis})`);
  const spread = tenantsAffected > 1 ? `${tenantsAffected} tenants affected at once` : `only ${tenant} affected`;
  evidence.push(spread);

  if (changes.appChange)
    return {
      class: 'app',
      evidence: [...evidence, `${describeCorrelated(changes.appChange)}: recommend rolling it back`],
    };
  if (INFRA_SIGNALS.has(signal))
    return { class: 'infra', evidence: [...evidence, `${signal} is an infrastructure signal (${spec.category})`] };
  if (STORM_SIGNALS.has(signal))
    return { class: 'abuse', evidence: [...evidence, `${signal} surge: notification/webhook storm`] };
  if (changes.campaign)
    return { class: 'tenant', evidence: [...evidence, `${describeCorrelated(changes.campaign)}: surge expected`] };
  const costAlongside = (input.concurrentSignals ?? []).filter((s) => signalSpec(s).category === 'cost');
  if (spec.category === 'usage' && costAlongside.length)
    return {
      class: 'app',
      evidence: [...evidence, `${costAlongside.join(', ')} rising at the same time: query cost surge`],
    };
  if (CRAWLABLE_SIGNALS.has(signal) && ratio >= ABUSE_SURGE_RATIO)
    return { class: 'abuse', evidence: [...evidence, `${fmt(ratio)}× the baseline: bot or crawl traffic pattern`] };
  if (spec.category === 'cost')
    return { class: 'app', evidence: [...evidence, 'query cost rose without a matching change: expensive queries'] };
  if (spec.category === 'engagement')
    return { class: 'app', evidence: [...evidence, 'listener engagement dropped over the window'] };
  if (tenantsAffected > 1) return { class: 'infra', evidence: [...evidence, 'platform-wide: not one tenant'] };
  return { class: 'tenant', evidence: [...evidence, `surge concentrated on ${tenant}`] };
}

export function describeChange(observed: number, expected: number): string {
  if (expected === 0) return observed === 0 ? '±0%' : 'from zero';
  const pct = Math.round(((observed - expected) / Math.abs(expected)) * 100);
  return `${pct >= 0 ? '+' : ''}${pct}%`;
}

function describeCorrelated(c: CorrelatedChange): string {
  const when =
    c.offsetMinutes >= 0
      ? `${c.offsetMinutes} min before the anomaly`
      : `${-c.offsetMinutes} min after the anomaly started`;
  return `${c.change} ${c.id ?? ''}${c.title ? ` "${c.title}"` : ''} ${when}`.replace(/\s+/g, ' ');
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
