import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * One count with one extra dimension of a small, fixed set of values (class, outcome), never a tenant
 * or key. A single metric is published by its addMetric, so each count gets its own.
 */
export function countWithDimension(
  metrics: Metrics,
  dimension: string,
  value: string,
  name: string,
  count: number,
): void {
  const single = metrics.singleMetric();
  single.addDimension(dimension, value);
  single.addMetric(name, MetricUnit.Count, count);
}
