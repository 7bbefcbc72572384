/**
 * `npm run bench -- --json`: the figures issue 22 asks for, from one run, as one JSON object.
 * Cost: the deployed default (60-second tumbling windows, batch 1,000) through the consumer's handler on the
 * real DynamoDB adapters against dynalite (bench/windowed-cost.ts), at us-east-1 list prices
 * (bench/pricing.ts). Core throughput: bench/consumer-core.ts. Detection latency: the seed-004 scenario suite
 * (bench/quality), event time.
 */
import { arch, cpus, platform } from 'node:os';
import { benchConsumerCore } from './consumer-core.js';
import { PRICES } from './pricing.js';
import { benchWindowedCost, WINDOWED_SCENARIOS, type WindowedCost } from './windowed-cost.js';

const round = (x: number, digits = 4) => Number(x.toPrecision(digits));

function costLine(c: WindowedCost) {
  return {
    scenario: c.scenario.label,
    events: c.events,
    invocations: c.invocations,
    finalInvocations: c.finalInvocations,
    stateWrites: c.stateWrites,
    writesPerActiveKeyMinute: round(c.writesPerActiveKeyMinute),
    wruPerActiveKeyMinute: round(c.wruPerActiveKeyMinute),
    wru: c.wru,
    rru: c.rru,
    lambdaMsPerInvocation: round(c.lambdaMs / c.invocations, 3),
    maxWindowStateBytes: c.maxWindowStateBytes,
    stateItemBytes: {
      max: c.stateItemBytes.max,
      mean: Math.round(c.stateItemBytes.mean),
      count: c.stateItemBytes.count,
    },
    perMillion: Object.fromEntries(Object.entries(c.perMillion).map(([k, v]) => [k, round(v)])),
    provisionedStateWritesPerMillion: round(c.provisionedWritesPerMillion),
  };
}

export async function benchJson(opts: { quality: boolean }): Promise<Record<string, unknown>> {
  const started = Date.now();
  const core = benchConsumerCore();
  const def = await benchWindowedCost(WINDOWED_SCENARIOS.default);
  const k10 = await benchWindowedCost(WINDOWED_SCENARIOS.keys10k);
  let detectionLatencyP95Min: number | null = null;
  let detectionLatencyP50Min: number | null = null;
  let detectionSource = 'skipped (--no-quality); run `npx tsx bench/quality/run.ts`';
  let quality: Record<string, unknown> | undefined;
  if (opts.quality) {
    const { runScenarioQuality } = await import('./quality/evaluate.js');
    const { DEFAULT_SCENARIO } = await import('./quality/scenario.js');
    const minutes = (ms: number | undefined) => (ms === undefined ? null : round(ms / 60_000, 3));
    const run = async (windowed: boolean) => {
      const q = await runScenarioQuality({ scenario: DEFAULT_SCENARIO, mitigation: false, windowed });
      const n = q.numbers;
      return {
        latencyP50Min: minutes(n.latency.p50),
        latencyP95Min: minutes(n.latency.p95),
        precision: round(n.precision, 3),
        recall: round(n.recall, 3),
        pages: n.pages,
        records: q.replay.records,
        processed: q.replay.processed,
      };
    };
    const windowed = await run(true);
    const perBatch = await run(false);
    detectionLatencyP95Min = windowed.latencyP95Min;
    detectionLatencyP50Min = windowed.latencyP50Min;
    quality = { windowed, perBatch };
    detectionSource =
      'seed-004 scenario suite (bench/quality, 1.2 M records), replayed through 60-second tumbling windows ' +
      "(replayLinesWindowed: processWindowedBatch, windows cut on the records' event-time clock); event time, " +
      'incident start → page detectedAt. In wall-clock terms a page also waits for its window to close: up to 60 s.';
  }
  // One 1 KB on-demand write per key-minute at 5,000 events/s over 10,000 keys: 10,000 / 300,000 events.
  const floorWruPerMillion = (10_000 / (5_000 * 60)) * 1e6;
  return {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${platform()}/${arch()}, node ${process.version}`,
    costPerMillionEvents: {
      default: round(def.perMillion.total),
      keys10k: round(k10.perMillion.total),
      keys10kProvisionedWrites: round(
        k10.perMillion.total - k10.perMillion.dynamoWrites + k10.provisionedWritesPerMillion,
      ),
      note:
        'Lambda + DynamoDB (writes and reads) + SNS + Step Functions at us-east-1 list prices, on-demand; Kinesis ' +
        'excluded. keys10k: 5 shards of 2,000 keys at 1,000 events/s each, one measured (shards share nothing). ' +
        'Every key has 14 days of detector history first (bench/mature-keys.ts): its item is near 1 KB. ' +
        `One 1 KB on-demand write per key-minute would be ${Math.round(floorWruPerMillion)} WRU per million ` +
        `events = $${round(floorWruPerMillion * PRICES.dynamoWru, 3)}; quiet keys are written every other window ` +
        '(the window carry). keys10kProvisionedWrites prices the same writes as provisioned capacity under auto ' +
        'scaling at 70 % utilisation, for comparison (the state table is on-demand).',
    },
    flinkFloorPerMillion: PRICES.flinkPerMillionEventsAt1kPerSec,
    writesPerActiveKeyMinute: {
      default: round(def.writesPerActiveKeyMinute),
      keys10k: round(k10.writesPerActiveKeyMinute),
    },
    stateItemBytes: {
      max: Math.max(def.stateItemBytes.max, k10.stateItemBytes.max),
      mean: Math.round(def.stateItemBytes.mean),
      keys10kMean: Math.round(k10.stateItemBytes.mean),
    },
    coreThroughputRatio: round(core.ratioWindowedWarm, 3),
    coreThroughput: {
      note:
        "records/s of the tumbling window's non-final invocation (toRawRecord → decode → aggregate, with the " +
        "state's JSON in and out) ÷ the bare base64 + JSON.parse loop, same batch, same run; warm = the previous " +
        'delivery already in the state',
      bareRecordsPerSec: Math.round(core.bareRecordsPerSec),
      windowed: round(core.ratioWindowed, 3),
      windowedWarm: round(core.ratioWindowedWarm, 3),
      perBatchFold: round(core.ratio, 3),
      perBatchFoldWarm: round(core.ratioWarmState, 3),
    },
    detectionLatencyP95Min,
    detectionLatencyP50Min,
    detectionLatencySource: detectionSource,
    quality,
    runs: { default: costLine(def), keys10k: costLine(k10) },
    ms: Date.now() - started,
  };
}
