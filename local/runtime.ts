import type { AddressInfo } from 'node:net';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { LOGICAL_IDS } from '../lib/anomaly-guard-stack.js';
import { synthTemplate } from '../lib/synth.js';
import { alertLogLine } from '../lambdas/core/anomaly.js';
import { DynamoDbAnomalyStore } from '../lambdas/adapters/anomaly-store.js';
import { DynamoDbActionLedger } from '../lambdas/adapters/action-ledger.js';
import { DynamoDbChangeStore } from '../lambdas/adapters/change-store.js';
import { DynamoDbEpisodeTraceStore } from '../lambdas/adapters/episode-trace-store.js';
import type { DeadLetter } from '../lambdas/adapters/dead-letter.js';
import { DynamoDbWindowStore } from '../lambdas/adapters/dynamodb-window-store.js';
import { DynamoDbPositionLedger } from '../lambdas/adapters/position-ledger.js';
import { putRecordsReliably } from '../lambdas/adapters/stream-producer.js';
import { CONSUMER_ENV } from '../lambdas/handlers/consumer-environment.js';
import type { SourceDeadLetter } from '../lambdas/handlers/source-poller.js';
import type { BatchOutcome } from '../lambdas/handlers/stream-batch.js';
import { createStreamConsumer, maxStreamChangeWindowMsFromEnv, windowSettingsFromEnv } from '../lambdas/handlers/stream-consumer.js';
import { writeActionJournal } from './action-journal.js';
import { ArrivalClock } from './arrival-clock.js';
import { EventSourcePoller, eventSourceSettingsFromTemplate, type StreamFailureNotice } from './event-source-poller.js';
import { routesFromTemplate, serveApi } from './api-server.js';
import { localMitigation } from './mitigation.js';
import { localOperatorApi } from './operator-api.js';
import { LocalAlertTopic } from './notifier.js';
import type { LocalStepFunctions } from './step-functions.js';
import { LocalDeadLetterSink, LocalQueue } from './queue.js';
import { createBucketsFromTemplate, createStreamFromTemplate, createTablesFromTemplate, resourcesOfType, startStandIns, type CfnTemplate } from './stand-ins.js';
import { localReports } from './reports.js';
import { LocalRawArchive } from './raw-archive.js';
import { UsageMeter, type RuntimeUsage } from './usage-meter.js';
import { LocalSourceSchedule, type SourceTally } from './source-schedule.js';
import { startLocalUsageSource } from './usage-source.js';
import { readTenantFlags } from '../lambdas/adapters/targets/index.js';
import { reliefFrom } from './service-model.js';
import { defaultWorkload, simulateWorkload, type ProducedRecord, type WorkloadOptions } from './workload.js';

export interface LocalOptions {
  /** `default`, or a JSONL file of envelopes (one record per line, sent verbatim). */
  scenario: string;
  once: boolean;
  out: string;
  port: number;
  /** Simulated minutes of the built-in scenario. */
  minutes: number;
  /** Records put per PutRecords call while replaying the scenario. */
  chunk: number;
  log: (line: string) => void;
  /** Stops the live phase (besides Ctrl-C); tests use it. */
  signal?: AbortSignal;
  /** cdk.json context overrides for this run (`anomalyGuard.*`), e.g. the consumer's batch size; the bench uses it. */
  context?: Record<string, unknown>;
  /** Called once the API serves, with its base URL. */
  onServing?: (url: string) => void;
}

export interface LocalSummary {
  records: { sent: number; processed: number; deadLettered: number; late: number; duplicate: number; redelivered: number; lost: number };
  anomalies: number;
  alerts: number;
  mitigations: { started: number; succeeded: number; rolledBack: number };
  reports: number;
  /** Records written to the raw archive (s3rver) and the gzip objects holding them; copied to `<out>/archive/`. */
  archive: { records: number; objects: number };
  /** The scheduled third-party source poller against the local vendor API: polls run, records it put (counted in `records.sent`), items and records it dead-lettered. */
  sources: SourceTally & { deadLettered: number };
  firstAlertMs: number | null;
  /** From start to the first mitigation execution that ended (recovered, handed off or blocked). */
  firstMitigationEndedMs: number | null;
  durationMs: number;
  windows: number;
  keys: number;
  stateWrites: number;
  writeUnits: number;
  invocations: number;
  consumerFailures: number;
  /** What the run used of each billed AWS dimension (npm run bench prices it). */
  usage: RuntimeUsage;
  ok: boolean;
  problems: string[];
}

const STREAM_NAME = 'anomaly-guard-ingest';
const TABLE_PREFIX = 'anomaly-guard-';
/** The deployed batching window is tuned for cost; locally a short one keeps the demo responsive. */
const LOCAL_BATCHING_WINDOW_MS = 200;
/** Firehose buffers for minutes; locally an archive object every couple of seconds. */
const LOCAL_ARCHIVE_BUFFERING_MS = 2_000;
const DRAIN_TIMEOUT_MS = 60_000;
/** While a mitigation runs: real milliseconds per simulated minute (its 3 s observation ≈ 12 simulated minutes). */
const PACED_MS_PER_SIMULATED_MINUTE = 250;
const SIMULATED_TENANTS = defaultWorkload(0, 1).tenants.map((t) => t.tenant);

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
      const relief = ['cqs_p95', 'ingest_rpm', 'search_qps', 'edge_p95_ms', 'notify_rpm'].map((s) => [s, reliefFrom(s, now)] as const).filter(([, r]) => r > 0);
      this.log(`simulator: ${tenant}'s services now read ${now.size ? [...now].join(', ') : 'no mitigation flags'}${relief.length ? ` → incident excess cut by ${relief.map(([s, r]) => `${Math.round(r * 100)} % on ${s}`).join(', ')}` : ''}`);
    }
  }
}

export async function runLocal(opts: LocalOptions): Promise<LocalSummary> {
  const started = Date.now();
  const out = resolve(opts.out);
  rmSync(join(out, 'reports'), { recursive: true, force: true });
  rmSync(join(out, 'archive'), { recursive: true, force: true });
  mkdirSync(join(out, 'reports'), { recursive: true });
  for (const f of ['dead-letters.jsonl', 'consumer-failures.jsonl', 'alerts.jsonl', 'source-failures.jsonl']) writeFileSync(join(out, f), '');

  // Started first: the source configured into the synthesized app names its port. It replaces any
  // sources in cdk.json, which point at real vendors and secrets that do not exist here.
  const usageSource = await startLocalUsageSource();
  opts.log('synthesizing the CDK app (template drives the local resources)…');
  const template = synthTemplate({ anomalyGuard: { ...opts.context, sources: [usageSource.config] } }, { bundle: false, nag: false }) as CfnTemplate;
  const standIns = await startStandIns();
  const meter = new UsageMeter();
  meter.watch(standIns.dynamo);
  const shards = await createStreamFromTemplate(standIns.kinesis, template, STREAM_NAME);
  const tables = await createTablesFromTemplate(standIns.dynamo, template, TABLE_PREFIX);
  const buckets = await createBucketsFromTemplate(standIns.s3, template, TABLE_PREFIX);
  const consumerEnv = consumerEnvironment(template);
  const tableName = tables.get(consumerEnv[CONSUMER_ENV.stateTable] ?? '') ?? [...tables.values()][0]!;
  opts.log(`stand-ins up: kinesis ${standIns.kinesisEndpoint} (${shards} shards), dynamodb ${standIns.dynamoEndpoint} (table ${tableName})`);

  const deadLetters = new LocalQueue<DeadLetter>('InvalidRecordQueue', join(out, 'dead-letters.jsonl'));
  const consumerFailures = new LocalQueue<StreamFailureNotice>('ConsumerFailureQueue', join(out, 'consumer-failures.jsonl'));
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
        opts.log(`mitigation ${x.name} (${x.anomaly.tenant} ${x.anomaly.signal}) ${state === 'SUCCEEDED' ? x.result?.outcome ?? 'done' : `${state.toLowerCase()}: ${x.error ?? ''}`}`);
        // The EventBridge rule on the state machine's status changes.
        reports.executionEnded(x);
      } else opts.log(`mitigation ${x.name}: ${state}`);
    },
  });
  const onOutcome = (o: BatchOutcome) => {
    if (o.alerts && totals.firstAlertAt === undefined) totals.firstAlertAt = Date.now();
    addOutcome(totals, o);
    for (const a of o.anomalies) appendFileSync(join(out, 'alerts.jsonl'), `${JSON.stringify(alertLogLine(a))}\n`);
  };
  const consumer = createStreamConsumer(
    {
      windows: new DynamoDbWindowStore(standIns.dynamo, tableName),
      changes: new DynamoDbChangeStore(standIns.dynamo, tableName),
      anomalies: new DynamoDbAnomalyStore(standIns.dynamo, tableName),
      notifier: alertTopic,
      mitigations: mitigation.stepFunctions,
      traces,
      deadLetters: new LocalDeadLetterSink(deadLetters),
      ledger: new DynamoDbPositionLedger(standIns.dynamo, tableName, 'consumer'),
      settings: windowSettingsFromEnv(consumerEnv),
      maxStreamChangeWindowMs: maxStreamChangeWindowMsFromEnv(consumerEnv),
      source: 'local',
      now: eventNow,
    },
    { onOutcome },
  );
  // The stream's arrival stamps in scenario time, so the consumer's clock-skew and watermark guards apply locally too.
  const arrivals = new ArrivalClock();
  const poller = new EventSourcePoller({
    kinesis: standIns.kinesis,
    streamName: STREAM_NAME,
    streamArn: `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAM_NAME}`,
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
  const sourceFailures = new LocalQueue<SourceDeadLetter>('SourceFailureQueue', join(out, 'source-failures.jsonl'));
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
  if (polling) opts.log(`source pollers on the local schedule: ${schedule.sourceNames.join(', ')} (vendor API ${new URL(usageSource.config.url).origin})`);
  await Promise.all([poller.start(), archive.start()]);

  let sent = 0;
  const progress = setInterval(() => opts.log(progressLine(simTs, sent, totals, deadLetters.length)), 1000);
  const put = async (records: ProducedRecord[]) => {
    arrivals.put(records.map((r) => r.ts), Date.now());
    const entries: PutRecordsRequestEntry[] = records.map((r) => ({ Data: Buffer.from(r.line), PartitionKey: r.partitionKey }));
    const res = await putRecordsReliably(standIns.kinesis, STREAM_NAME, entries);
    if (res.failed.length) throw new Error(`${res.failed.length} records could not be put on the local stream: ${res.failed[0]!.errorCode}`);
    sent += res.sent;
    simTs = records.at(-1)?.ts ?? simTs;
    if (polling) {
      const before = schedule.tally.put;
      await schedule.advance(simTs);
      sent += schedule.tally.put - before;
    }
  };
  const sourceTally = () => ({ ...schedule.tally, deadLettered: sourceFailures.length });

  // The closed loop: the simulated services read the flag table between chunks, as real services
  // poll their flags, and react to what mitigation set; while a mitigation runs, event time slows
  // so its observation windows span simulated minutes of the services' reaction.
  const services = new SimulatedServices(standIns.dynamo, tableName, opts.log);
  const paced = async () => {
    const before = simTs;
    // Producers never run ahead of detection here: the next minutes depend on what it decides.
    await waitFor(() => totals.processed + deadLetters.length >= sent || consumerFailures.length > 0, DRAIN_TIMEOUT_MS);
    await services.refresh();
    if (![...mitigation.stepFunctions.executions.values()].some((x) => x.status === 'RUNNING')) return;
    const simulatedMinutes = Math.max(1, (simTs - before) / 60_000);
    await new Promise((r) => setTimeout(r, simulatedMinutes * PACED_MS_PER_SIMULATED_MINUTE));
  };
  let server: Server | undefined;
  try {
    const scenario = scenarioRecords(opts, services.flagsOf);
    for (const chunk of chunks(scenario, opts.chunk)) {
      await put(chunk);
      if (opts.scenario === 'default') await paced();
    }
    const drained = await waitFor(() => totals.processed + deadLetters.length >= sent || consumerFailures.length > 0, DRAIN_TIMEOUT_MS);
    await mitigation.stepFunctions.drain();
    // The daily schedule, for the scenario's last event-time day.
    await reports.daily(simTs + 86_400_000);
    await reports.drain();
    const reportCount = await reports.copyTo(join(out, 'reports'));
    await archiveAll(archive, () => sent, join(out, 'archive'));
    await writeActionJournal(standIns.dynamo, tableName, join(out, 'actions.jsonl'));
    writeFileSync(join(out, 'events.jsonl'), mitigation.bus.events.peekAll().map((e) => `${JSON.stringify(e)}\n`).join(''));
    clearInterval(progress);
    const usage = () => meter.usage({ snsPublishes: alertTopic.published.length, stateTransitions: [...mitigation.stepFunctions.executions.values()].reduce((n, x) => n + x.transitions, 0) });
    const summary = summarise(totals, sent, deadLetters.length, consumerFailures.length, poller.invocations, started, drained, mitigation.stepFunctions, { count: reportCount, errors: reportErrors }, archiveTally(archive, true), sourceTally(), usage());
    writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    printSummary(summary, out, opts.log);
    if (opts.once) return summary;

    const routes = routesFromTemplate(template);
    const handlers = localOperatorApi({ dynamo: standIns.dynamo, tableName, stepFunctions: mitigation.stepFunctions, mitigationDeps: mitigation.deps, targets: mitigation.targets, reports: reports.store });
    let liveReports = reportCount;
    const liveSummary = (settled = false) => summarise(totals, sent, deadLetters.length, consumerFailures.length, poller.invocations, started, true, mitigation.stepFunctions, { count: liveReports, errors: reportErrors }, archiveTally(archive, settled), sourceTally(), usage());
    const dashboard = { type: 'text/html; charset=utf-8', body: readFileSync(new URL('./dashboard/index.html', import.meta.url), 'utf8') };
    server = await serveApi({ port: opts.port, routes, handlers, extra: { '/v1/local/summary': () => liveSummary() }, pages: { '/': dashboard } });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    opts.log(`serving the operator API on ${url} (${routes.map((r) => `${r.method} ${r.path}`).join(', ')}; status: /v1/local/summary); streaming live workload, Ctrl-C to stop`);
    opts.log(`dashboard: ${url}/`);
    opts.onServing?.(url);
    const live = setInterval(() => opts.log(progressLine(simTs, sent, totals, deadLetters.length)), 5000);
    let onSigint = () => {};
    const stop = new Promise<void>((r) => {
      onSigint = () => r();
      process.once('SIGINT', onSigint);
      if (opts.signal?.aborted) r();
      opts.signal?.addEventListener('abort', () => r(), { once: true });
    }).finally(() => process.off('SIGINT', onSigint));
    const liveStart = simTs + 60_000;
    const stream = simulateWorkload({ ...defaultWorkload(liveStart, Number.POSITIVE_INFINITY), seed: 7, flags: services.flagsOf });
    let stopped = false;
    void stop.then(() => (stopped = true));
    // One simulated minute per real second: windows close and slide visibly.
    while (!stopped) {
      const batch: ProducedRecord[] = [];
      const until = simTs + 60_000;
      for (let r = stream.next(); !r.done; r = stream.next()) {
        batch.push(r.value);
        if (r.value.ts >= until) break;
      }
      await put(batch);
      await services.refresh();
      await Promise.race([stop, new Promise((r) => setTimeout(r, 1000))]);
    }
    clearInterval(live);
    await mitigation.stepFunctions.drain();
    await reports.drain();
    liveReports = await reports.copyTo(join(out, 'reports'));
    await archiveAll(archive, () => sent, join(out, 'archive'));
    return liveSummary(true);
  } finally {
    clearInterval(progress);
    await Promise.all([poller.stop(), archive.stop()]);
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await Promise.all([standIns.close(), usageSource.close()]);
  }
}

/** Waits until the archive has read every record sent, writes what it buffers, and copies its objects to `dir`. */
async function archiveAll(archive: LocalRawArchive, sent: () => number, dir: string): Promise<void> {
  await waitFor(() => archive.received >= sent(), DRAIN_TIMEOUT_MS);
  await archive.flush();
  await archive.copyTo(dir);
}

/** `settled`: flushed after the last record was sent, so every record must be in an object by now. */
function archiveTally(archive: LocalRawArchive, settled: boolean): { records: number; objects: number; settled: boolean } {
  return { records: archive.records, objects: archive.objects, settled };
}

function requireBucket(buckets: Map<string, string>): string {
  const name = buckets.get(LOGICAL_IDS.reportsBucket);
  if (!name) throw new Error(`the synthesized template has no ${LOGICAL_IDS.reportsBucket}`);
  return name;
}

function consumerEnvironment(template: CfnTemplate): NodeJS.ProcessEnv {
  const fn = resourcesOfType(template, 'AWS::Lambda::Function').find(([, r]) => r.Properties?.Environment?.Variables?.[CONSUMER_ENV.invalidRecordQueueUrl]);
  if (!fn) throw new Error('the synthesized template has no stream-consumer function');
  const vars = fn[1].Properties!.Environment.Variables as Record<string, unknown>;
  // References (Ref/GetAtt) become the logical id they point at, which the local names are derived from.
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : refTarget(v)]));
}

function refTarget(v: unknown): string {
  const o = v as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return o.Ref ?? o['Fn::GetAtt']?.[0] ?? '';
}

function* scenarioRecords(opts: LocalOptions, flags: WorkloadOptions['flags']): Generator<ProducedRecord> {
  if (opts.scenario === 'default') {
    // Event time starts a day back so the live demo, one simulated minute per second, stays in the past.
    const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 24 * 3_600_000;
    yield* simulateWorkload({ ...defaultWorkload(start, opts.minutes), ...(flags && { flags }) });
    return;
  }
  const lines = readFileSync(opts.scenario, 'utf8').split('\n').filter((l) => l.trim());
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

function* chunks<T>(items: Iterable<T>, size: number): Generator<T[]> {
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

type Totals = Omit<BatchOutcome, 'windows' | 'failed' | 'anomalies'> & { windows: number; failed: number; anomalies: number; keySet: Set<string>; firstAlertAt?: number; firstMitigationEndedAt?: number };

function newTotals(): Totals {
  return { received: 0, processed: 0, deadLettered: 0, late: 0, duplicate: 0, redelivered: 0, changes: 0, keys: 0, stateWrites: 0, writeUnits: 0, conflicts: 0, traceWrites: 0, windows: 0, failed: 0, anomalies: 0, alerts: 0, mitigationsStarted: 0, blips: 0, recovered: 0, keySet: new Set() };
}

function addOutcome(t: Totals, o: BatchOutcome): void {
  for (const k of ['received', 'processed', 'deadLettered', 'late', 'duplicate', 'redelivered', 'changes', 'stateWrites', 'writeUnits', 'conflicts', 'traceWrites', 'alerts', 'mitigationsStarted', 'blips', 'recovered'] as const) t[k] += o[k];
  t.anomalies += o.anomalies.length;
  t.windows += o.windows.length;
  t.failed += o.failed.length;
  for (const w of o.windows) t.keySet.add(w.key);
}

function summarise(t: Totals, sent: number, deadLettered: number, consumerFailures: number, invocations: number, started: number, drained: boolean, workflows: LocalStepFunctions, reports: { count: number; errors: string[] }, archive: { records: number; objects: number; settled: boolean }, sources: LocalSummary['sources'], usage: RuntimeUsage): LocalSummary {
  const executions = [...workflows.executions.values()];
  const lost = Math.max(0, sent - t.processed - deadLettered);
  const problems: string[] = [];
  if (!drained) problems.push(`timed out waiting for the consumer: ${lost} records unaccounted for`);
  if (consumerFailures) problems.push(`${consumerFailures} batches exhausted their retries (see consumer-failures.jsonl)`);
  if (lost && drained) problems.push(`${lost} records were lost`);
  const failedRuns = executions.filter((x) => x.status === 'FAILED');
  if (archive.settled && archive.records !== sent) problems.push(`the raw archive holds ${archive.records} of ${sent} records sent`);
  if (sources.failedPolls) problems.push(`${sources.failedPolls} source poll(s) failed (windows in source-failures.jsonl)`);
  if (sources.putFailed) problems.push(`${sources.putFailed} polled record(s) could not be put on the stream`);
  if (reports.errors.length) problems.push(`${reports.errors.length} report(s) failed: ${reports.errors.join('; ')}`);
  if (failedRuns.length) problems.push(`${failedRuns.length} mitigation execution(s) failed: ${failedRuns.map((x) => `${x.name}: ${x.error ?? ''}`).join('; ')}`);
  return {
    records: { sent, processed: t.processed, deadLettered, late: t.late, duplicate: t.duplicate, redelivered: t.redelivered, lost },
    anomalies: t.anomalies,
    alerts: t.alerts,
    mitigations: {
      started: executions.length,
      succeeded: executions.filter((x) => x.status === 'SUCCEEDED').length,
      rolledBack: executions.reduce((n, x) => n + (x.result?.rolledBack.length ?? 0), 0),
    },
    reports: reports.count,
    archive: { records: archive.records, objects: archive.objects },
    sources,
    firstAlertMs: t.firstAlertAt === undefined ? null : t.firstAlertAt - started,
    firstMitigationEndedMs: t.firstMitigationEndedAt === undefined ? null : t.firstMitigationEndedAt - started,
    durationMs: Date.now() - started,
    windows: t.windows,
    keys: t.keySet.size,
    stateWrites: t.stateWrites,
    writeUnits: t.writeUnits,
    invocations,
    consumerFailures,
    usage,
    ok: problems.length === 0,
    problems,
  };
}

function progressLine(simTs: number, sent: number, t: Totals, deadLettered: number): string {
  const sim = simTs ? new Date(simTs).toISOString().slice(0, 16).replace('T', ' ') : '-';
  return `[event time ${sim}] sent ${sent}  processed ${t.processed}  dead-lettered ${deadLettered}  late ${t.late}  windows ${t.windows}  keys ${t.keySet.size}  anomalies ${t.anomalies}  alerts ${t.alerts}`;
}

function printSummary(s: LocalSummary, out: string, log: (l: string) => void): void {
  log('');
  log(`records: sent ${s.records.sent}, processed ${s.records.processed}, dead-lettered ${s.records.deadLettered} (reasons in ${join(out, 'dead-letters.jsonl')}), late ${s.records.late}, duplicates dropped ${s.records.duplicate}`);
  log(`windows emitted ${s.windows} over ${s.keys} keys; ${s.stateWrites} state writes (${s.writeUnits} WCU) in ${s.invocations} consumer invocations`);
  log(`anomalies ${s.anomalies} (alerts ${s.alerts}, see ${join(out, 'alerts.jsonl')}); mitigations started ${s.mitigations.started}, succeeded ${s.mitigations.succeeded}, actions rolled back ${s.mitigations.rolledBack}; reports ${s.reports}`);
  log(`raw archive: ${s.archive.records} records in ${s.archive.objects} gzip object${s.archive.objects === 1 ? '' : 's'}, copied to ${join(out, 'archive', 'raw')}/; replay them: npm run cli -- replay --input ${join(out, 'archive')} --out <dir>`);
  log(`source poller: ${s.sources.polls} polls of the local vendor API, ${s.sources.put} records put, ${s.sources.deadLettered} dead-lettered with the reason (${join(out, 'source-failures.jsonl')})`);
  if (s.firstAlertMs !== null) log(`first alert ${(s.firstAlertMs / 1000).toFixed(1)} s after start${s.firstMitigationEndedMs === null ? '' : `, first mitigation ended ${(s.firstMitigationEndedMs / 1000).toFixed(1)} s after start`}`);
  log(s.ok ? `ok in ${(s.durationMs / 1000).toFixed(1)} s; summary in ${join(out, 'summary.json')}` : `FAILED: ${s.problems.join('; ')}`);
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}
