import { readFileSync } from 'node:fs';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../lambdas/core/time.js';
import { defaultWorkload, simulateWorkload, type ProducedRecord, type WorkloadOptions } from './workload.js';

/**
 * The records of a run's scenario: the built-in simulated workload (`default`, `minutes` long), or a
 * JSONL file of envelopes sent verbatim (a line that does not parse is sent too, to be dead-lettered).
 */
export function* scenarioRecords(
  scenario: string,
  minutes: number,
  flags: WorkloadOptions['flags'],
): Generator<ProducedRecord> {
  if (scenario === 'default') {
    yield* simulateWorkload({ ...defaultWorkload(demoStart(Date.now(), minutes), minutes), ...(flags && { flags }) });
    return;
  }
  const lines = readFileSync(scenario, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  for (const line of lines) {
    let partitionKey = 'unparseable';
    let ts = 0;
    try {
      const o = JSON.parse(line) as { type?: string; key?: string; tenant?: string; ts?: unknown };
      partitionKey = String((o.type === 'activity' ? o.key : o.tenant) ?? 'unknown') || 'unknown';
      ts = typeof o.ts === 'number' ? o.ts : Date.parse(String(o.ts));
    } catch {
      // Sent anyway: the consumer must dead-letter it with the reason.
    }
    yield { line, partitionKey, ts };
  }
}

/** Time of day (UTC) the built-in scenario's event time starts at. */
const DEMO_START_HOUR = 8;

/**
 * Start of the built-in scenario's event time: 08:00 UTC, whole days back (at least one), so that the
 * live demo, one simulated minute per second, stays in the past. A fixed time of day keeps what the
 * demo shows independent of when it runs: its traffic has a daily rhythm, and started in the
 * afternoon the notification storm fell on the evening decline, where its soft stage looked like a
 * recovery and was handed off instead of escalated.
 */
export function demoStart(now: number, minutes: number): number {
  const today = Math.floor(now / DAY_MS) * DAY_MS + DEMO_START_HOUR * HOUR_MS;
  const daysBack = Math.max(1, Math.ceil((today + minutes * MINUTE_MS - now) / DAY_MS));
  return today - daysBack * DAY_MS;
}

export function* chunks<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}
