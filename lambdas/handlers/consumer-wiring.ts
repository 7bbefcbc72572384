import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_MAX_STREAM_CHANGE_WINDOW_MS } from '../core/envelope.js';
import type {
  DeadLetterSink,
  EpisodeTraceStore,
  MitigationStarter,
  Notifier,
  ShardLineage,
} from '../core/ports/index.js';
import { HOUR_MS, MINUTE_MS } from '../core/time.js';
import { DEFAULT_INCIDENT_WINDOW_MS } from '../core/incidents.js';
import { DEFAULT_WINDOW_SETTINGS, validateWindowSettings, type WindowSettings } from '../core/window-settings.js';
import { DynamoDbAnomalyStore } from '../adapters/anomaly-store.js';
import { DynamoDbChangeStore } from '../adapters/change-store.js';
import { DynamoDbEpisodeTraceStore } from '../adapters/episode-trace-store.js';
import { DynamoDbFeedbackStore } from '../adapters/feedback-store.js';
import { DynamoDbIncidentStore } from '../adapters/incident-store.js';
import { DynamoDbPositionLedger } from '../adapters/position-ledger.js';
import { DynamoDbWindowCarryStore } from '../adapters/window-carry-store.js';
import { CachingWindowStore, DynamoDbWindowStore } from '../adapters/window-store.js';
import type { StreamBatchDeps } from '../usecases/stream-batch.js';
import { CONSUMER_ENV } from './consumer-environment.js';

/** What differs between the Lambda consumer and the local runtime's: the clients, the sinks and the environment. */
export interface ConsumerWiring {
  /** The state table's client (DynamoDB in AWS, the local stand-in otherwise). */
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  /** The consumer function's environment (`process.env` in Lambda, the synthesized template's locally). */
  readonly env: NodeJS.ProcessEnv;
  readonly notifier: Notifier;
  readonly deadLetters: DeadLetterSink;
  /** Absent: alert only, no workflow is started. */
  readonly mitigations?: MitigationStarter;
  /** Default: the DynamoDB trace store on the same table. */
  readonly traces?: EpisodeTraceStore;
  /** Names the consumer in dead letters. */
  readonly source: string;
  /** Processing time (default `Date.now`); the local runtime passes its event-time clock. */
  readonly now?: () => number;
  /** A new shard's parents (Kinesis ListShards), for their carries; absent: a reshard's last carry expires. */
  readonly lineage?: ShardLineage;
}

/**
 * The stream consumer's dependencies on the state table: the one place they are put together, for
 * the Lambda handler and for the local runtime alike.
 *
 * @example
 * const deps = consumerDeps({ dynamo, tableName, env: process.env, notifier, deadLetters, source: 'stream-consumer' });
 * const consumer = createStreamConsumer(deps);
 */
export function consumerDeps(w: ConsumerWiring): StreamBatchDeps {
  const { dynamo, tableName } = w;
  return {
    // The container's own writes are read back from memory: one write and no read per key and window.
    windows: new CachingWindowStore(new DynamoDbWindowStore(dynamo, tableName)),
    changes: new DynamoDbChangeStore(dynamo, tableName),
    anomalies: new DynamoDbAnomalyStore(dynamo, tableName),
    incidents: new DynamoDbIncidentStore(dynamo, tableName),
    incidentWindowMs: incidentWindowMsFromEnv(w.env),
    notifier: w.notifier,
    ...(w.mitigations && { mitigations: w.mitigations }),
    traces: w.traces ?? new DynamoDbEpisodeTraceStore(dynamo, tableName),
    // Read only when a key is about to page: its recent false-positive verdicts (lambdas/core/feedback.ts).
    feedback: new DynamoDbFeedbackStore(dynamo, tableName),
    deadLetters: w.deadLetters,
    ledger: new DynamoDbPositionLedger(dynamo, tableName, 'consumer'),
    settings: windowSettingsFromEnv(w.env),
    maxStreamChangeWindowMs: maxStreamChangeWindowMsFromEnv(w.env),
    source: w.source,
    ...(w.now && { now: w.now }),
    ...(w.env[CONSUMER_ENV.carryQuietKeys] === 'true' && {
      carry: { store: new DynamoDbWindowCarryStore(dynamo, tableName), ...(w.lineage && { lineage: w.lineage }) },
    }),
  };
}

/** Window settings from the environment the construct sets; missing values fall back to the defaults. */
export function windowSettingsFromEnv(env: NodeJS.ProcessEnv): WindowSettings {
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`environment variable ${name} must be a number (got "${raw}")`);
    return n;
  };
  return validateWindowSettings({
    windowMinutes: num(CONSUMER_ENV.windowMinutes, DEFAULT_WINDOW_SETTINGS.windowMinutes),
    slideMinutes: num(CONSUMER_ENV.slideMinutes, DEFAULT_WINDOW_SETTINGS.slideMinutes),
    allowedLatenessMs: num(CONSUMER_ENV.allowedLatenessMs, DEFAULT_WINDOW_SETTINGS.allowedLatenessMs),
    dedupeIds: num(CONSUMER_ENV.dedupeIds, DEFAULT_WINDOW_SETTINGS.dedupeIds),
  });
}

/** The longest change window a producer may put on the stream, from the environment (default 24 h). */
export function maxStreamChangeWindowMsFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[CONSUMER_ENV.maxStreamChangeWindowHours];
  if (raw === undefined || raw === '') return DEFAULT_MAX_STREAM_CHANGE_WINDOW_MS;
  const hours = Number(raw);
  if (!Number.isFinite(hours) || hours <= 0)
    throw new Error(
      `environment variable ${CONSUMER_ENV.maxStreamChangeWindowHours} must be a positive number of hours ` +
        `(got "${raw}")`,
    );
  return hours * HOUR_MS;
}

/** The incident window (`INCIDENT_WINDOW_MINUTES`, default 10): largest gap between members' episode starts. */
export function incidentWindowMsFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[CONSUMER_ENV.incidentWindowMinutes];
  if (raw === undefined || raw === '') return DEFAULT_INCIDENT_WINDOW_MS;
  const minutes = Number(raw);
  if (!Number.isFinite(minutes) || minutes < 0)
    throw new Error(
      `environment variable ${CONSUMER_ENV.incidentWindowMinutes} must be a non-negative number of minutes ` +
        `(got "${raw}")`,
    );
  return minutes * MINUTE_MS;
}
