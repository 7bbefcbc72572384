import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { authHeaders } from '../core/ingest/source-auth.js';
import { parseSourceConfigs, type UsageSourceConfig } from '../core/ingest/source-config.js';
import {
  mapResponse,
  nextPageUrl,
  pollWindow,
  sourceUrl,
  type MappedRecord,
  type PollWindow,
  type RejectedItem,
} from '../core/ingest/source-mapping.js';
import { SqsDeadLetterSink } from '../adapters/dead-letter.js';
import type { DeadLetterSink } from '../core/ports/dead-letter-sink.js';
import { fetchSourcePage, redactedUrl, SourceFetchError } from '../adapters/http-source.js';
import { cachedSecretReader } from '../adapters/secret-reader.js';
import { putRecordsReliably, type ProduceOptions } from '../adapters/stream-producer.js';
import { requireEnv } from './require-env.js';
import { SOURCE_POLLER_ENV } from './source-poller-environment.js';

/** What the poller puts in its dead-letter queue: enough to see what went wrong and to re-poll or re-put. */
export interface SourceDeadLetter {
  reason: string;
  /**
   * `fetch`: the window (or its rest) was not fetched, re-poll it; `mapping`: an item or response that is not an
   * envelope; `put`: a mapped record Kinesis refused.
   */
  kind: 'fetch' | 'mapping' | 'put';
  source: string;
  window: { from: string; to: string };
  url?: string;
  /** The item (mapping), or the response body as far as it was read (fetch). */
  item?: unknown;
  /** The envelope line Kinesis refused (put). */
  data?: string;
  partitionKey?: string;
  errorCode?: string;
  truncated?: boolean;
}

/** A scheduled run (EventBridge "Scheduled Event", `time` = the scheduled time), or a backfill of one window. */
export type PollEvent = { time?: string; window?: { from: string; to: string } };

export interface PollResult {
  source: string;
  window: { from: string; to: string };
  pages: number;
  attempts: number;
  mapped: number;
  put: number;
  rejected: number;
  putFailed: number;
  /** Set when the source could not be (fully) fetched; the run then fails after dead-lettering it. */
  fetchError?: string;
}

export interface SourcePollerDeps {
  readonly source: UsageSourceConfig;
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly deadLetters: DeadLetterSink<SourceDeadLetter>;
  /** Secret value by id; required when the source has `auth`. */
  readonly readSecret?: (secretId: string) => Promise<string>;
  readonly fetch?: typeof fetch;
  /** The largest page body, in bytes. @default DEFAULT_MAX_PAGE_BYTES (10 MiB) */
  readonly maxPageBytes?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly produce?: ProduceOptions;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/** Stop fetching pages when less than this is left of the invocation: leaves time to put and dead-letter. */
const RESERVED_MS = 20_000;
/** SQS takes 256 KiB per message; the letter's JSON must stay under it. */
const MAX_LETTER_BYTES = 250 * 1024;

export class PollFailedError extends Error {
  override readonly name = 'PollFailedError';
  /** What the run did before it failed: records fetched before the failure were still put. */
  constructor(
    message: string,
    readonly result: PollResult,
  ) {
    super(message);
  }
}

/**
 * One poll of one source: fetch every page of the window (timeouts, retries), map the responses to
 * envelope records, PutRecords them (retrying only failed entries), and dead-letter whatever could
 * not be fetched, mapped or put, with the reason. Throws after dead-lettering a fetch failure, so
 * the run counts as failed (the Errors metric and its alarm).
 */
export async function pollSource(
  event: PollEvent,
  deps: SourcePollerDeps,
  remainingMs: () => number = () => Number.POSITIVE_INFINITY,
): Promise<PollResult> {
  const { source } = deps;
  const window = windowOf(event, deps);
  const windowIso = { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() };
  const result: PollResult = {
    source: source.name,
    window: windowIso,
    pages: 0,
    attempts: 0,
    mapped: 0,
    put: 0,
    rejected: 0,
    putFailed: 0,
  };
  const letters: SourceDeadLetter[] = [];
  const letter = (l: Omit<SourceDeadLetter, 'source' | 'window'>) =>
    letters.push(fitLetter({ ...l, source: source.name, window: windowIso }));
  const records: MappedRecord[] = [];
  let url: string | undefined = sourceUrl(source.url, window);
  try {
    const headers = { ...source.headers, ...(source.auth && authHeaders(source.auth, await secretOf(source, deps))) };
    while (url) {
      if (result.pages >= source.maxPages)
        throw new SourceFetchError(
          `stopped after maxPages (${source.maxPages}) pages; the rest of the window was not fetched`,
          0,
        );
      if (result.pages > 0 && remainingMs() < RESERVED_MS)
        throw new SourceFetchError(
          `ran out of invocation time after ${result.pages} pages; the rest of the window was not fetched`,
          0,
        );
      const page = await fetchSourcePage(url, headers, {
        timeoutMs: source.timeoutSeconds * 1000,
        maxAttempts: source.maxAttempts,
        ...(deps.fetch && { fetch: deps.fetch }),
        ...(deps.sleep && { sleep: deps.sleep }),
        ...(deps.maxPageBytes !== undefined && { maxBytes: deps.maxPageBytes }),
      });
      result.pages++;
      result.attempts += page.attempts;
      const mapped = mapResponse(source, page.body);
      records.push(...mapped.records);
      for (const r of mapped.rejected) letter(rejection(r, url));
      url = nextPageUrl(source, page.body, url);
    }
  } catch (e) {
    const err = e as Error;
    result.fetchError = err.message;
    const body = e instanceof SourceFetchError ? e.body : undefined;
    letter({
      kind: 'fetch',
      reason: `fetch failed: ${err.message}`,
      ...(url && { url: redactedUrl(url) }),
      ...(body !== undefined && { item: body }),
    });
  }
  result.mapped = records.length;
  const produced = await putRecordsReliably(
    deps.kinesis,
    deps.streamName,
    records.map((r) => ({ Data: Buffer.from(r.line), PartitionKey: r.partitionKey })),
    deps.produce,
  );
  result.put = produced.sent;
  for (const f of produced.failed)
    letter({
      kind: 'put',
      reason: `PutRecords failed after retries: ${f.errorCode} ${f.errorMessage}`.trim(),
      data: Buffer.from(f.entry.Data!).toString('utf8'),
      partitionKey: f.entry.PartitionKey!,
      errorCode: f.errorCode,
    });
  result.putFailed = produced.failed.length;
  result.rejected = letters.filter((l) => l.kind === 'mapping').length;
  // A failed send throws: the invocation fails and its event (the window) goes to the on-failure destination.
  if (letters.length) await deps.deadLetters.send(letters);
  report(result, deps);
  if (result.fetchError)
    throw new PollFailedError(
      `${source.name}: ${result.fetchError} (window ${windowIso.from}..${windowIso.to} dead-lettered for a re-poll)`,
      result,
    );
  return result;
}

function windowOf(event: PollEvent, deps: SourcePollerDeps): PollWindow {
  if (event.window) {
    const from = Date.parse(event.window.from);
    const to = Date.parse(event.window.to);
    if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from)
      throw new Error(
        `backfill window must be {from, to} ISO-8601 times with from < to (got ${JSON.stringify(event.window)})`,
      );
    return { from, to };
  }
  const at = event.time ? Date.parse(event.time) : (deps.now ?? Date.now)();
  if (!Number.isFinite(at)) throw new Error(`event time ${JSON.stringify(event.time)} is not a time`);
  return pollWindow(at, deps.source);
}

async function secretOf(source: UsageSourceConfig, deps: SourcePollerDeps): Promise<string> {
  if (!deps.readSecret) throw new Error(`source ${source.name} has auth but the poller was given no secret reader`);
  try {
    return await deps.readSecret(source.auth!.secret);
  } catch (e) {
    throw new Error(`could not read secret ${source.auth!.secret}: ${(e as Error).message}`);
  }
}

function rejection(r: RejectedItem, url: string): Omit<SourceDeadLetter, 'source' | 'window'> {
  return { kind: 'mapping', reason: r.reason, url: redactedUrl(url), item: r.item };
}

function fitLetter(l: SourceDeadLetter): SourceDeadLetter {
  if (Buffer.byteLength(JSON.stringify(l)) <= MAX_LETTER_BYTES) return l;
  const text = typeof l.item === 'string' ? l.item : JSON.stringify(l.item ?? l.data);
  const { item: _item, data: _data, ...rest } = l;
  return {
    ...rest,
    item: Buffer.from(text)
      .subarray(0, MAX_LETTER_BYTES - 4096)
      .toString('utf8'),
    truncated: true,
  };
}

function report(r: PollResult, deps: SourcePollerDeps): void {
  deps.logger?.[r.fetchError || r.putFailed || r.rejected ? 'warn' : 'info']('source polled', { ...r });
  const m = deps.metrics;
  if (!m) return;
  // One dimension, the source name: a handful of configured sources bounds the cardinality.
  m.addDimension('source', r.source);
  m.addMetric('SourceRecordsPut', MetricUnit.Count, r.put);
  m.addMetric('SourceItemsRejected', MetricUnit.Count, r.rejected);
  m.addMetric('SourceRecordsFailed', MetricUnit.Count, r.putFailed);
  m.addMetric('SourcePollFailed', MetricUnit.Count, r.fetchError ? 1 : 0);
  m.publishStoredMetrics();
}

let wired: SourcePollerDeps | undefined;

function lambdaWiring(): SourcePollerDeps {
  const tracer = new Tracer();
  const [source] = parseSourceConfigs([JSON.parse(requireEnv(SOURCE_POLLER_ENV.source))]);
  return {
    source: source!,
    kinesis: tracer.captureAWSv3Client(new KinesisClient({ maxAttempts: 4 })),
    streamName: requireEnv(SOURCE_POLLER_ENV.streamName),
    deadLetters: new SqsDeadLetterSink<SourceDeadLetter>(
      tracer.captureAWSv3Client(new SQSClient({ maxAttempts: 6 })),
      requireEnv(SOURCE_POLLER_ENV.failureQueueUrl),
    ),
    // Cached across warm invocations; a rotated secret is picked up within the cache's age.
    readSecret: cachedSecretReader(tracer.captureAWSv3Client(new SecretsManagerClient({ maxAttempts: 4 }))),
    logger: new Logger(),
    metrics: new Metrics(),
  };
}

export const handler = (event: PollEvent, context: Context): Promise<PollResult> => {
  wired ??= lambdaWiring();
  return pollSource(event, wired, () => context.getRemainingTimeInMillis());
};
