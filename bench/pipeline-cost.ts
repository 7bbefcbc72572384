/**
 * The whole pipeline's bill, from what the local runtime measured: a steady 1,000 events/s over
 * 100 keys replayed through the stream, consumer, state table and alerting (cost per event), and the
 * default demo's incidents through mitigation, alerts and reports (cost per mitigated episode).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocal, type LocalSummary } from '../local/runtime.js';
import { seededRandom } from '../local/random.js';
import { billOf, kinesisPerMillion, perMillion, type UsageBill } from './pricing.js';
import { START_TS } from './workload.js';

export const STEADY = { eventsPerSecond: 1_000, keys: 100, seconds: 60, warmupMinutes: 11 } as const;
/** The consumer settings priced: the deployed default, and the batch a busy stream should use. */
export const CONSUMER_SETTINGS = [
  { label: 'default (batch 1,000, window 5 s)', batchSize: 1_000, maxBatchingWindowSeconds: 5 },
  { label: 'batch 10,000, window 10 s', batchSize: 10_000, maxBatchingWindowSeconds: 10 },
] as const;
const TENANTS = Array.from({ length: 10 }, (_, i) => `tenant-${String(i).padStart(2, '0')}`);
const SIGNALS: readonly [string, number][] = [
  ['ingest_rpm', 12_000],
  ['search_qps', 850],
  ['notify_rpm', 3_000],
  ['webhook_rps', 40],
  ['cir_p95', 0.0042],
  ['cqs_p95', 0.0037],
  ['cin_p95', 0.0011],
  ['cache_hit_ratio', 0.93],
  ['edge_p95_ms', 48],
  ['origin_p95_ms', 210],
];

/**
 * Envelope lines: `warmupMinutes` with one record per key every 10 s (the windows fill to their
 * full size, as in a long-running deployment), then `seconds` at `eventsPerSecond`, round-robin over
 * tenants × signals, values within ±2 % of the base. `measured: false` gives the warm-up alone.
 */
export function steadyScenario(
  o: { eventsPerSecond: number; keys: number; seconds: number; warmupMinutes: number },
  measured = true,
): string[] {
  const r = seededRandom(11);
  const keys = TENANTS.flatMap((tenant) => SIGNALS.map(([signal, base]) => ({ tenant, signal, base }))).slice(
    0,
    o.keys,
  );
  const lines: string[] = [];
  const line = (i: number, ts: number) => {
    const k = keys[i % keys.length]!;
    lines.push(
      JSON.stringify({
        v: 1,
        type: 'metric',
        id: `s-${i}`,
        ts,
        tenant: k.tenant,
        signal: k.signal,
        value: Number((k.base * (1 + (r() - 0.5) * 0.04)).toPrecision(6)),
        region: 'kr',
      }),
    );
  };
  const warmup = o.warmupMinutes * 6 * keys.length;
  for (let i = 0; i < warmup; i++) line(i, START_TS + Math.floor(i / keys.length) * 10_000);
  const from = START_TS + o.warmupMinutes * 60_000;
  if (measured)
    for (let i = 0; i < o.eventsPerSecond * o.seconds; i++)
      line(warmup + i, from + Math.floor((i * 1000) / o.eventsPerSecond));
  return lines;
}

export interface SteadyCost {
  label: string;
  events: number;
  recordsPerInvocation: number;
  /** Window-state item size at the end, from the state writes' WRU. */
  wruPerStateWrite: number;
  perMillion: UsageBill;
}

export interface PipelineCost {
  steady: SteadyCost[];
  kinesis: { shardHours: number; putUnits: number };
  demo: { summary: LocalSummary; executions: number; perEpisode: UsageBill };
}

async function run(scenario: string, out: string, context?: Record<string, unknown>): Promise<LocalSummary> {
  const summary = await runLocal({
    scenario,
    once: true,
    out,
    port: 0,
    minutes: 240,
    chunk: 500,
    log: () => {},
    ...(context && { context }),
  });
  if (!summary.ok) throw new Error(`local run of ${scenario} failed: ${summary.problems.join('; ')}`);
  return summary;
}

/** `a − b`, line by line: what the measured part of a run used beyond its warm-up. */
function minus(a: LocalSummary['usage'], b: LocalSummary['usage']): LocalSummary['usage'] {
  const diff = <T extends Record<string, number>>(x: Record<string, T>, y: Record<string, T>) =>
    Object.fromEntries(
      Object.entries(x).map(([k, v]) => [
        k,
        Object.fromEntries(Object.entries(v).map(([f, n]) => [f, n - (y[k]?.[f] ?? 0)])) as T,
      ]),
    );
  return {
    lambda: diff(a.lambda, b.lambda),
    dynamodb: diff(a.dynamodb, b.dynamodb),
    snsPublishes: a.snsPublishes - b.snsPublishes,
    stateTransitions: a.stateTransitions - b.stateTransitions,
  };
}

export async function benchPipelineCost(): Promise<PipelineCost> {
  const dir = mkdtempSync(join(tmpdir(), 'ag-pipeline-cost-'));
  try {
    const warmFile = join(dir, 'warmup.jsonl');
    const fullFile = join(dir, 'steady.jsonl');
    writeFileSync(warmFile, `${steadyScenario(STEADY, false).join('\n')}\n`);
    writeFileSync(fullFile, `${steadyScenario(STEADY).join('\n')}\n`);
    const steady: SteadyCost[] = [];
    for (const c of CONSUMER_SETTINGS) {
      const context = { consumer: { batchSize: c.batchSize, maxBatchingWindowSeconds: c.maxBatchingWindowSeconds } };
      const warm = await run(warmFile, join(dir, 'warm'), context);
      const full = await run(fullFile, join(dir, 'full'), context);
      const used = minus(full.usage, warm.usage);
      const events = full.records.sent - warm.records.sent;
      const consumer = used.lambda.consumer!;
      steady.push({
        label: c.label,
        events,
        recordsPerInvocation: events / consumer.invocations,
        wruPerStateWrite: used.dynamodb.consumer!.wru / (full.stateWrites - warm.stateWrites),
        perMillion: perMillion(billOf(used, ['consumer', 'mitigation', 'reports']), events),
      });
    }
    const demo = await run('default', join(dir, 'demo'));
    const executions = demo.mitigations.started;
    const episodeBill = billOf(demo.usage, ['mitigation', 'reports']);
    return {
      steady,
      kinesis: kinesisPerMillion(STEADY.eventsPerSecond, 1),
      demo: {
        summary: demo,
        executions,
        perEpisode: Object.fromEntries(
          Object.entries(episodeBill).map(([k, v]) => [k, v / Math.max(1, executions)]),
        ) as unknown as UsageBill,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
