import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Anomaly } from '../../../lambdas/core/anomaly.js';
import { recordStepMetrics } from '../../../lambdas/handlers/mitigation-workflow.js';
import type { WorkflowState } from '../../../lambdas/usecases/mitigation-steps.js';
import type { BatchOutcome } from '../../../lambdas/usecases/stream-batch.js';
import { recordMetrics } from '../../../lambdas/handlers/stream-consumer.js';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../../lib/operations-dashboard.js';

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [k: string]: unknown;
}

/** The EMF documents Powertools writes to stdout, which CloudWatch turns into metrics. */
function captureEmf(run: (m: Metrics) => void): Emf[] {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    out.push(String(chunk));
    return true;
  });
  try {
    run(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE }));
  } finally {
    spy.mockRestore();
  }
  return out
    .flatMap((s) => s.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Emf);
}

const dimensionSets = (docs: Emf[]) =>
  docs.flatMap((d) => d._aws.CloudWatchMetrics.flatMap((m) => m.Dimensions.map((ds) => [...ds].sort().join('+'))));
const anomaly = (cls: Anomaly['class'], decision: Anomaly['decision']) => ({ class: cls, decision }) as Anomaly;

afterEach(() => vi.restoreAllMocks());

describe('business metrics (EMF, bounded dimensions)', () => {
  it('counts anomalies and alerts per class; suppressed anomalies are not alerts; no tenant or key dimension', () => {
    const outcome = {
      received: 10,
      processed: 9,
      deadLettered: 1,
      late: 0,
      duplicate: 0,
      redelivered: 0,
      failed: [],
      changes: 0,
      windows: [],
      anomalies: [anomaly('tenant', 'mitigate'), anomaly('tenant', 'suppressed'), anomaly('infra', 'alert')],
      alerts: 2,
      mitigationsStarted: 1,
      blips: 0,
      recovered: 0,
      stateWrites: 3,
      conflicts: 0,
      traceWrites: 0,
      deferred: 2,
      writeUnits: 9,
      keys: 3,
    } as unknown as BatchOutcome;
    const docs = captureEmf((m) => recordMetrics(m, outcome));
    const byClass = docs
      .filter((d) => 'class' in d)
      .map((d) => [d.class, 'AnomaliesByClass' in d ? 'anomalies' : 'alerts', d.AnomaliesByClass ?? d.AlertsByClass]);
    expect(byClass).toEqual([
      ['tenant', 'anomalies', 2],
      ['tenant', 'alerts', 1],
      ['infra', 'anomalies', 1],
      ['infra', 'alerts', 1],
    ]);
    const main = docs.find((d) => 'RecordsReceived' in d)!;
    expect(main).toMatchObject({
      RecordsReceived: 10,
      RecordsProcessed: 9,
      RecordsDeadLettered: 1,
      AnomaliesConfirmed: 3,
      AlertsPublished: 2,
      MitigationsStarted: 1,
      StateWriteUnits: 9,
      StateWritesDeferred: 2,
      service: METRICS_SERVICE,
    });
    expect(new Set(dimensionSets(docs))).toEqual(new Set(['service', 'class+service']));
    expect(docs.every((d) => d._aws.CloudWatchMetrics.every((m) => m.Namespace === METRICS_NAMESPACE))).toBe(true);
  });

  it('counts the actions a mitigation step applied and rolled back, and the outcome once, when it is decided', () => {
    const before = { applied: [{}], rolledBack: [] } as unknown as WorkflowState;
    const after = { applied: [{}], rolledBack: ['rb-1'], outcome: 'recovered' } as unknown as WorkflowState;
    const docs = captureEmf((m) => recordStepMetrics(m, before, after));
    expect(docs.find((d) => 'ActionsRolledBack' in d)).toMatchObject({ ActionsApplied: 0, ActionsRolledBack: 1 });
    expect(docs.find((d) => 'MitigationOutcomes' in d)).toMatchObject({ outcome: 'recovered', MitigationOutcomes: 1 });
    // A later step of an execution whose outcome is already set does not count it again.
    const again = captureEmf((m) => recordStepMetrics(m, after, { ...after, rolledBack: ['rb-1', 'rb-2'] }));
    expect(again.some((d) => 'MitigationOutcomes' in d)).toBe(false);
    expect(again.find((d) => 'ActionsRolledBack' in d)).toMatchObject({ ActionsRolledBack: 1 });
  });
});
