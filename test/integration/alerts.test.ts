import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../lambdas/core/anomaly.js';
import { createStreamConsumer } from '../../lambdas/handlers/stream-consumer.js';
import { kinesisEvent, startHarness, type Harness } from './harness.js';

const context = { functionName: 'test', awsRequestId: 'r' } as unknown as Context;
const T0 = Date.parse('2026-11-22T06:00:00Z');

/** Three hours of acme cqs_p95 every 10 s with ±2 % noise, +60 % for 20 minutes from minute 150. */
function series() {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: 180 * 6 }, (_, i) => {
    const minute = Math.floor(i / 6);
    const spike = minute >= 150 && minute < 170 ? 1.6 : 1;
    return {
      v: 1,
      type: 'metric',
      id: `m-${i}`,
      ts: T0 + i * 10_000,
      tenant: 'acme',
      signal: 'cqs_p95',
      region: 'kr',
      value: 0.0025 * (1 + 0.02 * (rnd() * 2 - 1)) * spike,
    };
  });
}

function batches<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

describe('alerts through the consumer on the stand-ins', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('one anomaly episode pages exactly once, also when every batch is delivered twice', async () => {
    const consumer = createStreamConsumer(h.deps());
    for (const records of batches(series(), 120)) {
      const event = kinesisEvent(records);
      expect((await consumer(event, context)).batchItemFailures).toEqual([]);
      expect((await consumer(event, context)).batchItemFailures).toEqual([]);
    }
    const published = h.alerts.published.peekAll();
    expect(published).toHaveLength(1);
    const [alert] = published;
    expect(alert!.subject).toMatch(/^\[SEV[12]\] acme cqs_p95 \+\d+% \(app\)$/);
    const body = JSON.parse(alert!.body);
    // Detected within 5 minutes of the spike's start (event time).
    expect(Date.parse(body.detectedAt) - (T0 + 150 * 60_000)).toBeLessThanOrEqual(5 * 60_000);
    expect(Date.parse(body.start)).toBeGreaterThanOrEqual(T0 + 150 * 60_000);
    expect(body.decision).toBe('mitigate');
  });

  it('an SNS failure makes the batch retry, and the retry pages once', async () => {
    let failNext = true;
    const deps = h.deps();
    const flaky = {
      ...deps,
      notifier: {
        publish: async (m: AlertMessage, id: string) => {
          if (failNext) {
            failNext = false;
            throw new Error('injected SNS outage');
          }
          return h.alerts.publish(m, id);
        },
      },
    };
    const consumer = createStreamConsumer(flaky);
    let retried = 0;
    for (const records of batches(series(), 120)) {
      let event = kinesisEvent(records);
      // As Lambda does: a thrown invocation retries the whole batch; reported items resume from the lowest.
      for (;;) {
        const response = await consumer(event, context).catch(() => undefined);
        if (response && !response.batchItemFailures.length) break;
        retried++;
        if (response)
          event = {
            Records: event.Records.slice(
              event.Records.findIndex(
                (r) => r.kinesis.sequenceNumber === response.batchItemFailures[0]!.itemIdentifier,
              ),
            ),
          };
      }
    }
    expect(retried).toBe(1);
    expect(h.alerts.published.length).toBe(1);
  });
});
