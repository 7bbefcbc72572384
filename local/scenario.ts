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

/** Hours of the day (UTC) the built-in scenario may start at: its storm then falls on rising traffic. */
const DEMO_START_HOURS = [4, 10] as const;

/**
 * Start of the built-in scenario's event time: the latest whole hour between 04:00 and 10:00 UTC that
 * ends the run at least an hour before `now`, so the live demo, one simulated minute per second, stays
 * in the past and (for the default 240 minutes) within the dashboard's 24-hour range. The traffic has a
 * daily rhythm: started in the afternoon, the notification storm fell on the evening decline, where its
 * soft stage looked like a recovery and was handed off instead of escalated (the demo then showed no
 * approval, depending on the hour it ran at).
 */
export function demoStart(now: number, minutes: number): number {
  const [earliest, latest] = DEMO_START_HOURS;
  const last = Math.floor((now - minutes * MINUTE_MS - HOUR_MS) / HOUR_MS) * HOUR_MS;
  const day = Math.floor(last / DAY_MS) * DAY_MS;
  const hour = (last - day) / HOUR_MS;
  if (hour > latest) return day + latest * HOUR_MS;
  return hour >= earliest ? last : day - DAY_MS + latest * HOUR_MS;
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
