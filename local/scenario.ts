import { readFileSync } from 'node:fs';
import { DAY_MS, HOUR_MS } from '../lambdas/core/time.js';
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
    // Event time starts a day back so the live demo, one simulated minute per second, stays in the past.
    const start = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - DAY_MS;
    yield* simulateWorkload({ ...defaultWorkload(start, minutes), ...(flags && { flags }) });
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
