import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { LOGICAL_IDS } from '../lib/anomaly-guard-stack.js';
import { synthTemplate } from '../lib/synth.js';
import { alertLogLine } from '../lambdas/core/anomaly.js';
import type { DeadLetter } from '../lambdas/core/ports/dead-letter-sink.js';
import { DynamoDbActionLedger } from '../lambdas/adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../lambdas/adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../lambdas/adapters/change-store.js';
import { DynamoDbEpisodeTraceStore } from '../lambdas/adapters/episode-trace-store.js';
import { putRecordsReliably } from '../lambdas/adapters/stream-producer.js';
import { readTenantFlags } from '../lambdas/adapters/targets/index.js';
import { CONSUMER_ENV } from '../lambdas/handlers/consumer-environment.js';
import { KinesisShardLineage } from '../lambdas/adapters/shard-lineage.js';
import { consumerDeps } from '../lambdas/handlers/consumer-wiring.js';
import type { SourceDeadLetter } from '../lambdas/handlers/source-poller.js';
import { createStreamConsumer } from '../lambdas/handlers/stream-consumer.js';
import type { BatchOutcome } from '../lambdas/usecases/stream-batch.js';
import { ArrivalClock } from './arrival-clock.js';
import { EventSourcePoller, eventSourceSettingsFromTemplate, type StreamFailureNotice } from './event-source-poller.js';
import { localMitigation } from './mitigation.js';
import { LocalAlertTopic } from './notifier.js';
import { SimulatedOperator } from './simulated-operator.js';
import { DynamoDbApprovalStore } from '../lambdas/adapters/approval-store.js';
import { createApproveHandler } from '../lambdas/handlers/api/operator-api.js';
import { LocalDeadLetterSink, LocalQueue } from './queue.js';
import { LocalRawArchive } from './raw-archive.js';
import { localReports } from './reports.js';
import { reliefFrom } from './service-model.js';
import { LocalSourceSchedule } from './source-schedule.js';
import {
  createBucketsFromTemplate,
  createStreamFromTemplate,
  createTablesFromTemplate,
  resourcesOfType,
  startStandIns,
  type CfnTemplate,
} from './stand-ins.js';
import {
  addOutcome,
  newTotals,
  progressLine,
  summarise,
  type ControlTargetTally,
  type LocalSummary,
} from './summary.js';
import { UsageMeter } from './usage-meter.js';
import { startLocalUsageSource } from './usage-source.js';
import { defaultWorkload, type ProducedRecord } from './workload.js';
import { MINUTE_MS } from '../lambdas/core/time.js';

/** What wiring the local system needs from the run's options. */
export interface SystemOptions {
  /** `default` (the built-in workload, with the vendor source polled beside it) or a recorded scenario file. */
  scenario: string;
  out: string;
  log: (line: string) => void;
  /** cdk.json context overrides for this run (`anomalyGuard.*`). */
  context?: Record<string, unknown>;
  /** The demo's simulated on-call approves every approval request (default); false leaves them to a person. */
  autoApprove?: boolean;
}

const STREAM_NAME = 'anomaly-guard-ingest';
const TABLE_PREFIX = 'anomaly-guard-';
/** The deployed batching window is tuned for cost; locally a short one keeps the demo responsive. */
const LOCAL_BATCHING_WINDOW_MS = 200;
/** Firehose buffers for minutes; locally an archive object every couple of seconds. */
const LOCAL_ARCHIVE_BUFFERING_MS = 2_000;
export const DRAIN_TIMEOUT_MS = MINUTE_MS;
/** While a mitigation runs: real milliseconds per simulated minute (its 3 s observation ≈ 12 simulated minutes). */
const PACED_MS_PER_SIMULATED_MINUTE = 250;
const SIMULATED_TENANTS = defaultWorkload(0, 1).tenants.map((t) => t.tenant);
const OUTPUT_FILES = ['dead-letters.jsonl', 'consumer-failures.jsonl', 'alerts.jsonl', 'source-failures.jsonl'];

/** The simulated services' view of the flag table: re-read on refresh, reported when it changes. */
class SimulatedServices {
  private readonly flags = new Map<string, ReadonlySet<string>>();

  constructor(
    private readonly dynamo: Parameters<typeof readTenantFlags>[0],
    private readonly tableName: string,
    private readonly log: (line: string) => void,
  ) {}

  readonly flagsOf = (tenant: string): ReadonlySet<string> => this.flags.get(tenant) ?? new Set();

  async refresh(): Promise<void> {
    for (const tenant of SIMULATED_TENANTS) {
      const now = new Set((await readTenantFlags(this.dynamo, this.tableName, tenant)).keys());
      const before = this.flagsOf(tenant);
      if (now.size === before.size && [...now].every((f) => before.has(f))) continue;
      this.flags.set(tenant, now);
      const relief = ['cqs_p95', 'ingest_rpm', 'search_qps', 'edge_p95_ms', 'notify_rpm']
        .map((s) => [s, reliefFrom(s, now)] as const)
        .filter(([, r]) => r > 0);
      this.log(
        `simulator: ${tenant}'s services now read ${now.size ? [...now].join(', ') : 'no mitigation flags'}` +
          (relief.length
            ? ` → incident excess cut by ${relief.map(([s, r]) => `${Math.round(r * 100)} % on ${s}`).join(', ')}`
            : ''),
      );
    }
  }
}

/**
 * The whole system on the stand-ins, wired from the synthesized template: the stream, the consumer
 * behind its event-source poller, the mitigation workflow, the reports, the raw archive, the source
 * poller and the simulated services. `put` sends records the way producers do.
 */
export async function startLocalSystem(opts: SystemOptions) {
  const started = Date.now();
  const out = resolve(opts.out);
  resetOutputs(out);

  // Started first: the source configured into the synthesized app names its port. It replaces any
  // sources in cdk.json, which point at real vendors and secrets that do not exist here.
  const usageSource = await startLocalUsageSource();
  opts.log('synthesizing the CDK app (template drives the local resources)…');
  const template = synthTemplate(
    { anomalyGuard: { ...opts.context, sources: [usageSource.config] } },
    { bundle: false, nag: false },
  ) as CfnTemplate;
  const standIns = await startStandIns();
  const meter = new UsageMeter();
  meter.watch(standIns.dynamo);
  const shards = await createStreamFromTemplate(standIns.kinesis, template, STREAM_NAME);
  const tables = await createTablesFromTemplate(standIns.dynamo, template, TABLE_PREFIX);
  const buckets = await createBucketsFromTemplate(standIns.s3, template, TABLE_PREFIX);
  const consumerEnv = consumerEnvironment(template);
  const tableName = tables.get(consumerEnv[CONSUMER_ENV.stateTable] ?? '') ?? [...tables.values()][0]!;
  opts.log(
    `stand-ins up: kinesis ${standIns.kinesisEndpoint} (${shards} shards), dynamodb ${standIns.dynamoEndpoint} ` +
      `(table ${tableName})`,
  );

  const deadLetters = new LocalQueue<DeadLetter>('InvalidRecordQueue', join(out, 'dead-letters.jsonl'));
  const consumerFailures = new LocalQueue<StreamFailureNotice>(
    'ConsumerFailureQueue',
    join(out, 'consumer-failures.jsonl'),
  );
  const sourceFailures = new LocalQueue<SourceDeadLetter>('SourceFailureQueue', join(out, 'source-failures.jsonl'));
  const totals = newTotals();
  const alertTopic = new LocalAlertTopic(opts.log);
  const traces = new DynamoDbEpisodeTraceStore(standIns.dynamo, tableName);
  const reportErrors: string[] = [];
  const reports = localReports({
    s3: standIns.s3,
    s3Endpoint: standIns.s3Endpoint,
    bucket: requireBucket(buckets),
    anomalies: new DynamoDbAnomalyStore(standIns.dynamo, tableName),
    ledger: new DynamoDbActionLedger(standIns.dynamo, tableName),
    changes: new DynamoDbChangeStore(standIns.dynamo, tableName),
    traces,
    notifier: alertTopic,
    meter,
    onError: (e) => {
      reportErrors.push((e as Error).message);
      opts.log(`report generation failed: ${(e as Error).message}`);
    },
  });
  // Event time of the last record put: the simulated services' clock, which the consumer's alert
  // stamps and the workflow read too, so a report's timeline is in one time.
  let simTs = 0;
  const eventNow = () => simTs || Date.now();
  const mitigation = localMitigation({
    template,
    dynamo: standIns.dynamo,
    tableName,
    notifier: alertTopic,
    meter,
    now: eventNow,
    onTransition: (x, state) => {
      if (state === 'SUCCEEDED' || state === 'FAILED' || state === 'ABORTED') {
        totals.firstMitigationEndedAt ??= Date.now();
        opts.log(
          `mitigation ${x.name} (${x.anomaly.tenant} ${x.anomaly.signal}) ` +
            `${state === 'SUCCEEDED' ? (x.result?.outcome ?? 'done') : `${state.toLowerCase()}: ${x.error ?? ''}`}`,
        );
        // The EventBridge rule on the state machine's status changes.
        reports.executionEnded(x);
      } else opts.log(`mitigation ${x.name}: ${state}`);
    },
  });
  const approvals = new DynamoDbApprovalStore(standIns.dynamo, tableName);
  const approve = createApproveHandler({ approvals, taskTokens: mitigation.stepFunctions, now: eventNow });
  const operator = opts.autoApprove === false ? undefined : new SimulatedOperator(approve, opts.log);
  if (operator) alertTopic.subscribers.push(operator.onAlert);
  const onOutcome = (o: BatchOutcome) => {
    if (o.alerts && totals.firstAlertAt === undefined) totals.firstAlertAt = Date.now();
    addOutcome(totals, o);
    for (const a of o.anomalies) appendFileSync(join(out, 'alerts.jsonl'), `${JSON.stringify(alertLogLine(a))}\n`);
  };
  const consumer = createStreamConsumer(
    consumerDeps({
      dynamo: standIns.dynamo,
      tableName,
      env: consumerEnv,
      notifier: alertTopic,
      mitigations: mitigation.stepFunctions,
      traces,
      deadLetters: new LocalDeadLetterSink(deadLetters),
      source: 'local',
      now: eventNow,
      lineage: new KinesisShardLineage(standIns.kinesis, LOCAL_STREAM_ARN),
    }),
    { onOutcome },
  );
  // The stream's arrival stamps in scenario time, so the consumer's clock-skew and watermark guards apply locally too.
  const arrivals = new ArrivalClock();
  const poller = new EventSourcePoller({
    kinesis: standIns.kinesis,
    streamName: STREAM_NAME,
    streamArn: LOCAL_STREAM_ARN,
    functionName: 'anomaly-guard-stream-consumer',
    handler: meter.timed('consumer', consumer),
    settings: eventSourceSettingsFromTemplate(template),
    batchingWindowMs: LOCAL_BATCHING_WINDOW_MS,
    onFailure: (n) => consumerFailures.send(n),
    onError: (e) => opts.log(`poller error: ${(e as Error).message}`),
    arrivalClock: (wall) => arrivals.at(wall),
  });
  const archive = new LocalRawArchive({
    kinesis: standIns.kinesis,
    s3: standIns.s3,
    streamName: STREAM_NAME,
    template,
    buckets,
    bufferingIntervalMs: LOCAL_ARCHIVE_BUFFERING_MS,
    onError: (e) => opts.log(`raw archive error: ${(e as Error).message}`),
  });
  const schedule = new LocalSourceSchedule({
    template,
    kinesis: standIns.kinesis,
    streamName: STREAM_NAME,
    failureQueue: sourceFailures,
    secrets: new Map([[usageSource.config.auth!.secret, usageSource.token]]),
    onError: (e) => opts.log(`source poll failed: ${(e as Error).message}`),
  });
  // A recorded scenario is replayed verbatim; the vendor source runs beside the built-in workload.
  const polling = opts.scenario === 'default';
  if (polling)
    opts.log(
      `source pollers on the local schedule: ${schedule.sourceNames.join(', ')} (vendor API ` +
        `${new URL(usageSource.config.url).origin})`,
    );
  await Promise.all([poller.start(), archive.start()]);

  let sent = 0;
  const services = new SimulatedServices(standIns.dynamo, tableName, opts.log);
  const executions = () => [...mitigation.stepFunctions.executions.values()];
  const caughtUp = () => totals.processed + deadLetters.length >= sent || consumerFailures.length > 0;

  return {
    template,
    standIns,
    tableName,
    mitigation,
    reports,
    services,
    approvals,
    /**
     * Every execution has ended or waits for a person (`--no-auto-approve`), and the simulated on-call has answered
     * what it was asked.
     */
    async settled(): Promise<void> {
      // The simulated on-call answers within seconds: every execution ends. Without it, some wait for a person.
      if (operator) return mitigation.stepFunctions.drain();
      return mitigation.stepFunctions.idle();
    },
    get sent() {
      return sent;
    },
    get simTs() {
      return simTs;
    },
    /** PutRecords the way producers do; the vendor source is polled up to the new event time. */
    async put(records: ProducedRecord[]): Promise<void> {
      arrivals.put(
        records.map((r) => r.ts),
        Date.now(),
      );
      const entries: PutRecordsRequestEntry[] = records.map((r) => ({
        Data: Buffer.from(r.line),
        PartitionKey: r.partitionKey,
      }));
      const res = await putRecordsReliably(standIns.kinesis, STREAM_NAME, entries);
      if (res.failed.length)
        throw new Error(
          `${res.failed.length} records could not be put on the local stream: ${res.failed[0]!.errorCode}`,
        );
      sent += res.sent;
      simTs = records.at(-1)?.ts ?? simTs;
      if (polling) {
        const before = schedule.tally.put;
        await schedule.advance(simTs);
        sent += schedule.tally.put - before;
      }
    },
    /** Waits until the consumer accounted for every record sent (or a batch exhausted its retries). */
    drain: () => waitFor(caughtUp, DRAIN_TIMEOUT_MS),
    /**
     * The closed loop: the simulated services read the flag table between chunks, as real services
     * poll their flags, and react to what mitigation set; while a mitigation runs, event time slows
     * so its observation windows span simulated minutes of the services' reaction.
     */
    async paced(): Promise<void> {
      const before = simTs;
      // Producers never run ahead of detection here: the next minutes depend on what it decides.
      await waitFor(caughtUp, DRAIN_TIMEOUT_MS);
      await services.refresh();
      if (!executions().some((x) => x.status === 'RUNNING')) return;
      const simulatedMinutes = Math.max(1, (simTs - before) / MINUTE_MS);
      await new Promise((r) => setTimeout(r, simulatedMinutes * PACED_MS_PER_SIMULATED_MINUTE));
    },
    progress: () => progressLine(simTs, sent, totals, deadLetters.length),
    /**
     * Waits until the archive has read every record sent, writes what it buffers, and copies its objects to
     * `<out>/archive`.
     */
    async archiveAll(): Promise<void> {
      await waitFor(() => archive.received >= sent, DRAIN_TIMEOUT_MS);
      await archive.flush();
      await archive.copyTo(join(out, 'archive'));
    },
    summary(at: {
      drained: boolean;
      reportCount: number;
      settled: boolean;
      controlTargets?: ControlTargetTally;
    }): LocalSummary {
      return summarise({
        totals,
        sent,
        deadLettered: deadLetters.length,
        consumerFailures: consumerFailures.length,
        invocations: poller.invocations,
        started,
        drained: at.drained,
        workflows: mitigation.stepFunctions,
        reports: {
          count: at.reportCount,
          errors: reportErrors,
          ...(at.controlTargets && { controlTargets: at.controlTargets }),
        },
        // `settled`: flushed after the last record was sent, so every record must be in an object by now.
        archive: { records: archive.records, objects: archive.objects, settled: at.settled },
        sources: { ...schedule.tally, deadLettered: sourceFailures.length },
        usage: meter.usage({
          snsPublishes: alertTopic.published.length,
          stateTransitions: executions().reduce((n, x) => n + x.transitions, 0),
        }),
      });
    },
    async close(): Promise<void> {
      // Executions still waiting for a person (--no-auto-approve) end with the runtime, and their reports are
      // written before the stand-ins go.
      mitigation.stepFunctions.stopAll('the local runtime stopped');
      await mitigation.stepFunctions.drain();
      await reports.drain();
      await Promise.all([poller.stop(), archive.stop()]);
      await Promise.all([standIns.close(), usageSource.close()]);
    },
  };
}

export type LocalSystem = Awaited<ReturnType<typeof startLocalSystem>>;

function resetOutputs(out: string): void {
  rmSync(join(out, 'reports'), { recursive: true, force: true });
  rmSync(join(out, 'archive'), { recursive: true, force: true });
  mkdirSync(join(out, 'reports'), { recursive: true });
  for (const f of OUTPUT_FILES) writeFileSync(join(out, f), '');
}

function requireBucket(buckets: Map<string, string>): string {
  const name = buckets.get(LOGICAL_IDS.reportsBucket);
  if (!name) throw new Error(`the synthesized template has no ${LOGICAL_IDS.reportsBucket}`);
  return name;
}

const LOCAL_STREAM_ARN = `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM_NAME}`;

function consumerEnvironment(template: CfnTemplate): NodeJS.ProcessEnv {
  const fn = resourcesOfType(template, 'AWS::Lambda::Function').find(
    ([, r]) => r.Properties?.Environment?.Variables?.[CONSUMER_ENV.invalidRecordQueueUrl],
  );
  if (!fn) throw new Error('the synthesized template has no stream-consumer function');
  const vars = fn[1].Properties!.Environment.Variables as Record<string, unknown>;
  // References (Ref/GetAtt) become the logical id they point at, which the local names are derived from.
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : refTarget(v)]));
}

function refTarget(v: unknown): string {
  const o = v as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return o.Ref ?? o['Fn::GetAtt']?.[0] ?? '';
}

export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}
