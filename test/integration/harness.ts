import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { synthTemplate } from '../../lib/synth.js';
import { DynamoDbAnomalyStore } from '../../lambdas/adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../../lambdas/adapters/change-store.js';
import type { DeadLetter } from '../../lambdas/core/ports/dead-letter-sink.js';
import { DynamoDbWindowStore, windowFromItem, windowItemKey } from '../../lambdas/adapters/window-store.js';
import { DynamoDbEpisodeTraceStore } from '../../lambdas/adapters/episode-trace-store.js';
import { DynamoDbPositionLedger } from '../../lambdas/adapters/position-ledger.js';
import type { StreamBatchDeps } from '../../lambdas/usecases/stream-batch.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../lambdas/core/window-settings.js';
import type { KeyState } from '../../lambdas/core/key-state.js';
import type { RouteId } from '../../lambdas/core/api/routes.js';
import type { ApiHandler } from '../../lambdas/handlers/api/http.js';
import { localMitigation } from '../../local/mitigation.js';
import { LocalAlertTopic } from '../../local/notifier.js';
import { localOperatorApi } from '../../local/operator-api.js';
import { LocalDeadLetterSink, LocalQueue } from '../../local/queue.js';
import { createTablesFromTemplate, startStandIns, type CfnTemplate, type StandIns } from '../../local/stand-ins.js';
import type { MitigationTimings } from '../../lambdas/core/ports/mitigation-starter.js';

let template: CfnTemplate | undefined;
/** The synthesized template, once per test file: the tables under test are the ones that deploy. */
export function stackTemplate(): CfnTemplate {
  template ??= synthTemplate({}, { bundle: false, nag: false }) as CfnTemplate;
  return template;
}

export interface Harness {
  standIns: StandIns;
  table: string;
  deadLetters: LocalQueue<DeadLetter>;
  alerts: LocalAlertTopic;
  deps(overrides?: { dynamo?: DynamoDBClient }): StreamBatchDeps;
  readState(key: string): Promise<{ state: KeyState; version: number } | undefined>;
  close(): Promise<void>;
}

let tableCounter = 0;

export async function startHarness(): Promise<Harness> {
  const standIns = await startStandIns();
  const tables = await createTablesFromTemplate(standIns.dynamo, stackTemplate(), `t${++tableCounter}-`);
  const table = [...tables.values()][0]!;
  const deadLetters = new LocalQueue<DeadLetter>('InvalidRecordQueue');
  const alerts = new LocalAlertTopic(() => {});
  const doc = DynamoDBDocumentClient.from(standIns.dynamo);
  return {
    standIns,
    table,
    deadLetters,
    alerts,
    deps: (o = {}) => {
      const dynamo = o.dynamo ?? standIns.dynamo;
      return {
        windows: new DynamoDbWindowStore(dynamo, table),
        changes: new DynamoDbChangeStore(dynamo, table),
        anomalies: new DynamoDbAnomalyStore(dynamo, table),
        notifier: alerts,
        traces: new DynamoDbEpisodeTraceStore(dynamo, table),
        deadLetters: new LocalDeadLetterSink(deadLetters),
        ledger: new DynamoDbPositionLedger(dynamo, table, 'consumer'),
        settings: DEFAULT_WINDOW_SETTINGS,
        source: 'test',
      };
    },
    async readState(key) {
      const out = await doc.send(new GetCommand({ TableName: table, Key: windowItemKey(key), ConsistentRead: true }));
      return out.Item ? windowFromItem(out.Item) : undefined;
    },
    close: () => standIns.close(),
  };
}

const BASE_TS = Date.parse('2026-11-22T10:00:00Z');

export function metric(i: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    type: 'metric',
    id: `m-${i}`,
    ts: BASE_TS + i * 5_000,
    tenant: 'acme',
    signal: 'cqs_p95',
    value: 1 + (i % 7),
    region: 'kr',
    ...over,
  };
}

let seq = 10_000_000;
/** A Kinesis event as Lambda delivers it, with increasing sequence numbers on one shard. */
export function kinesisEvent(
  records: (Record<string, unknown> | string)[],
  shardId = 'shardId-000000000000',
): KinesisStreamEvent {
  return {
    Records: records.map((r): KinesisStreamRecord => {
      const sequenceNumber = String(++seq);
      const line = typeof r === 'string' ? r : JSON.stringify(r);
      return {
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: typeof r === 'string' ? 'raw' : String(r.tenant ?? r.key),
          sequenceNumber,
          data: Buffer.from(line).toString('base64'),
          approximateArrivalTimestamp: BASE_TS / 1000 + 3600,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${shardId}:${sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/test',
        awsRegion: 'us-east-1',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/test',
      };
    }),
  };
}

/** Zero-length observation and rollback waits: a test's workflow runs straight through. */
/** No waits; a step that waits for an approval waits 1 s (the shortest Step Functions task timeout). */
export const NO_WAIT: MitigationTimings = {
  observationSeconds: 0,
  finalCheckSeconds: 0,
  rollbackIntervalSeconds: 0,
  approvalTimeoutSeconds: 1,
};

/**
 * The operator API's local handlers over the harness's tables, with the mitigation workflow they
 * start (the synthesized state machine on the stand-ins).
 */
export function localApi(
  h: Harness,
  opts: { now?: () => number; timings?: MitigationTimings; deploymentRegion?: string } = {},
): { api: Record<RouteId, ApiHandler>; mitigation: ReturnType<typeof localMitigation> } {
  const mitigation = localMitigation({
    template: stackTemplate(),
    dynamo: h.standIns.dynamo,
    tableName: h.table,
    notifier: new LocalAlertTopic(() => {}),
    timings: opts.timings ?? NO_WAIT,
    ...(opts.deploymentRegion && { deploymentRegion: opts.deploymentRegion }),
  });
  const api = localOperatorApi({
    dynamo: h.standIns.dynamo,
    tableName: h.table,
    stepFunctions: mitigation.stepFunctions,
    mitigationDeps: mitigation.deps,
    ...(opts.now && { now: opts.now }),
  });
  return { api, mitigation };
}
