import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryChangeStore } from '../../lambdas/adapters/in-memory/change-store.js';
import { parseSourceConfigs, type UsageSourceConfig } from '../../lambdas/core/ingest/source-config.js';
import type { RawRecord } from '../../lambdas/core/batch.js';
import { processStreamBatch } from '../../lambdas/usecases/stream-batch.js';
import {
  PollFailedError,
  pollSource,
  type SourceDeadLetter,
  type SourcePollerDeps,
} from '../../lambdas/handlers/source-poller.js';
import { LocalDeadLetterSink, LocalQueue } from '../../local/queue.js';
import { inMemoryConsumerDeps } from '../../local/replay-envelopes.js';
import { createStreamFromTemplate, localKinesisClient, startStandIns, type StandIns } from '../../local/stand-ins.js';
import { stackTemplate } from './harness.js';
import { injectPartialFailures, readStream } from './kinesis-faults.js';

const STREAM = 'poller-test';
const TOKEN = 'tok-3f9a';
const page1 = readFileSync(join(import.meta.dirname, '../fixtures/sources/billing-export-costs.json'), 'utf8');
/** The fixture's second page: one more tenant, and no next link. */
const page2 = JSON.stringify({
  items: [
    { customer: 'initech', service: 'search', region: 'kr', period_end: 1796465100, amount: '0.75', currency: 'USD' },
  ],
  releases: [],
  next: null,
});
/** Valid records the two pages map to (the fixture's two bad items are rejected). */
const VALID = 4;

type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** A third-party billing API on 127.0.0.1: recorded pages behind a bearer token; `route` overrides per test. */
class BillingApi {
  server!: Server;
  requests: { url: string; authorization?: string }[] = [];
  route: Route | undefined;
  get base() {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async start() {
    this.server = createServer((req, res) => {
      this.requests.push({
        url: req.url!,
        ...(req.headers.authorization && { authorization: req.headers.authorization }),
      });
      if (this.route) return this.route(req, res);
      if (req.headers.authorization !== `Bearer ${TOKEN}`)
        return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid token"}');
      const body = req.url!.includes('cursor=') ? page2 : page1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
  }
}

describe('source poller: fetch, map and put on kinesalite', () => {
  let s: StandIns;
  const api = new BillingApi();
  let source: UsageSourceConfig;
  let letters: LocalQueue<SourceDeadLetter>;
  const scheduled = '2026-12-05T10:05:02Z';

  beforeAll(async () => {
    await api.start();
  });
  afterAll(() => {
    // A hanging route leaves its (aborted) connections for the server to drop: close would wait for them.
    api.server.closeAllConnections();
    return new Promise<void>((r) => api.server.close(() => r()));
  });
  beforeEach(async () => {
    s = await startStandIns();
    await createStreamFromTemplate(s.kinesis, stackTemplate(), STREAM, 2);
    api.requests = [];
    api.route = undefined;
    letters = new LocalQueue<SourceDeadLetter>('SourceFailureQueue');
    [source] = parseSourceConfigs([
      {
        name: 'billing',
        url: `${api.base}/v1/costs?from={windowStartEpoch}&to={windowEndEpoch}`,
        timeoutSeconds: 1,
        maxAttempts: 3,
        auth: { secret: 'billing-token', scheme: 'bearer' },
        pagination: { next: 'next' },
        mapping: [
          {
            records: 'items',
            type: 'metric',
            fields: {
              tenant: 'customer',
              signal: "join('_', [service, 'cost_usd'])",
              value: 'amount',
              ts: 'period_end',
              region: 'region',
            },
          },
          {
            records: 'releases',
            type: 'change',
            fields: { tenant: 'tenant', change: "'release'", ts: 'at', title: 'version' },
          },
        ],
      },
    ]) as [UsageSourceConfig];
  });
  afterEach(() => s.close());

  const deps = (over: Partial<SourcePollerDeps> = {}): SourcePollerDeps => ({
    source,
    kinesis: s.kinesis,
    streamName: STREAM,
    deadLetters: new LocalDeadLetterSink(letters),
    readSecret: async (id) =>
      id === 'billing-token' ? JSON.stringify({ token: TOKEN }) : Promise.reject(new Error('no such secret')),
    sleep: async () => {},
    produce: { baseDelayMs: 1 },
    ...over,
  });

  const onStream = async () =>
    (await readStream(s.kinesis, STREAM)).map(
      (r) => JSON.parse(Buffer.from(r.Data!).toString()) as { id: string; tenant: string },
    );

  it(
    'polls the scheduled window with the secret, follows the pages, puts every valid record and dead-letters the ' +
      'rest with the reason',
    async () => {
      const result = await pollSource({ time: scheduled }, deps());
      expect(result).toMatchObject({
        source: 'billing',
        window: { from: '2026-12-05T10:00:00.000Z', to: '2026-12-05T10:05:00.000Z' },
        pages: 2,
        mapped: VALID,
        put: VALID,
        rejected: 2,
        putFailed: 0,
      });
      expect(api.requests[0]).toEqual({
        url: '/v1/costs?from=1796464800&to=1796465100',
        authorization: `Bearer ${TOKEN}`,
      });
      expect(api.requests[1]!.url).toBe('/v1/costs?cursor=Y3Vyc29yOjI');
      expect((await onStream()).map((r) => r.tenant).sort()).toEqual(['acme', 'acme', 'globex', 'initech']);
      expect(letters.peekAll()).toEqual([
        expect.objectContaining({
          kind: 'mapping',
          source: 'billing',
          reason: expect.stringMatching(/tenant/),
          item: expect.objectContaining({ customer: '' }),
          window: result.window,
        }),
        expect.objectContaining({
          kind: 'mapping',
          reason: expect.stringMatching(/value/),
          item: expect.objectContaining({ customer: 'umbrella' }),
        }),
      ]);
    },
  );

  it('retries only the entries Kinesis rejected: every record lands exactly once', async () => {
    const kinesis = localKinesisClient(s.kinesisEndpoint);
    injectPartialFailures(kinesis, { failCall: (call) => call <= 2, rejects: (i) => i % 2 === 0 });
    const result = await pollSource({ time: scheduled }, deps({ kinesis }));
    expect(result).toMatchObject({ put: VALID, putFailed: 0 });
    const ids = (await onStream()).map((r) => r.id);
    expect(ids).toHaveLength(VALID);
    expect(new Set(ids).size).toBe(VALID);
  });

  it('dead-letters the records Kinesis kept refusing, with the line and the error, and loses nothing', async () => {
    const kinesis = localKinesisClient(s.kinesisEndpoint);
    injectPartialFailures(kinesis, { failCall: () => true, rejects: (_, data) => data.includes('globex') });
    const result = await pollSource(
      { time: scheduled },
      deps({ kinesis, produce: { baseDelayMs: 1, maxAttempts: 3 } }),
    );
    expect(result).toMatchObject({ mapped: VALID, put: VALID - 1, putFailed: 1 });
    const put = letters.peekAll().filter((l) => l.kind === 'put');
    expect(put).toEqual([
      expect.objectContaining({
        errorCode: 'ProvisionedThroughputExceededException',
        partitionKey: 'globex',
        data: expect.stringContaining('"tenant":"globex"'),
        reason: expect.stringMatching(/after retries/),
      }),
    ]);
    expect((await onStream()).some((r) => r.tenant === 'globex')).toBe(false);
  });

  it('a repeated poll of the same window puts the same ids again, and the consumer counts them once', async () => {
    await pollSource({ time: scheduled }, deps());
    await pollSource({ window: { from: '2026-12-05T10:00:00Z', to: '2026-12-05T10:05:00Z' } }, deps());
    const raw = await readStream(s.kinesis, STREAM);
    expect(raw).toHaveLength(2 * VALID);
    const batch: RawRecord[] = raw.map((r, i) => ({
      data: r.Data!,
      partitionKey: r.PartitionKey!,
      arrivedAt: Number.POSITIVE_INFINITY,
      position: { shardId: 'shardId-000000000000', sequenceNumber: String(1000 + i) },
    }));
    const changes = new InMemoryChangeStore();
    const outcome = await processStreamBatch(batch, inMemoryConsumerDeps({ changes }));
    // Three metrics are dropped as duplicates; the release is an upsert keyed by its id, stored once.
    expect(outcome).toMatchObject({ processed: 2 * VALID, duplicate: VALID - 1, deadLettered: 0 });
    expect(await changes.startedBetween('acme', 0, Date.parse('2027-01-01T00:00:00Z'))).toHaveLength(1);
  });

  it('retries 503s, honouring Retry-After, then succeeds', async () => {
    let calls = 0;
    const waits: number[] = [];
    api.route = (_req, res) => {
      if (++calls <= 2) return void res.writeHead(503, { 'retry-after': '2' }).end('busy');
      res.writeHead(200).end(page2);
    };
    const result = await pollSource({ time: scheduled }, deps({ sleep: async (ms) => void waits.push(ms) }));
    expect(result).toMatchObject({ pages: 1, attempts: 3, put: 1 });
    expect(waits).toEqual([2000, 2000]);
  });

  it('a wrong credential is not retried: the window is dead-lettered with the answer and the run fails', async () => {
    const run = pollSource({ time: scheduled }, deps({ readSecret: async () => 'wrong' }));
    await expect(run).rejects.toThrow(PollFailedError);
    await expect(run).rejects.toThrow(
      /billing: .*answered HTTP 401.*window 2026-12-05T10:00:00.000Z..2026-12-05T10:05:00.000Z dead-lettered/,
    );
    expect(api.requests).toHaveLength(1);
    expect(letters.peekAll()).toEqual([
      expect.objectContaining({
        kind: 'fetch',
        url: `${api.base}/v1/costs`,
        item: '{"error":"invalid token"}',
        window: { from: '2026-12-05T10:00:00.000Z', to: '2026-12-05T10:05:00.000Z' },
      }),
    ]);
    expect(await onStream()).toEqual([]);
  });

  it('a source that does not answer times out on every attempt; the pages fetched before are still put', async () => {
    api.route = (req, res) => {
      if (req.url!.includes('cursor=')) return; // hangs
      res.writeHead(200).end(page1);
    };
    const run = pollSource({ time: scheduled }, deps({ source: { ...source, maxAttempts: 2 } }));
    await expect(run).rejects.toThrow(/did not answer within 1000 ms \(2 attempts\)/);
    expect(letters.peekAll().filter((l) => l.kind === 'fetch')).toHaveLength(1);
    expect((await onStream()).map((r) => r.tenant).sort()).toEqual(['acme', 'acme', 'globex']);
  });

  it('a response that is not JSON is dead-lettered whole, with the reason', async () => {
    api.route = (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
    await expect(pollSource({ time: scheduled }, deps())).rejects.toThrow(/not JSON/);
    expect(letters.peekAll()).toEqual([
      expect.objectContaining({
        kind: 'fetch',
        reason: expect.stringMatching(/not JSON/),
        item: '<html>maintenance</html>',
      }),
    ]);
  });

  it(
    'a chunked body without content-length is cut off as soon as it passes the page limit: the reason names the ' +
      'limit',
    async () => {
      const LIMIT = 64 * 1024;
      const TOTAL = 48 * 1024 * 1024;
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      let written = 0;
      let closedEarly!: Promise<boolean>;
      api.route = (_req, res) => {
        // No content-length: Node sends the body chunked, the way a streaming API (or an attacker) would.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[');
        closedEarly = new Promise((resolve) => {
          let done = false;
          res.on('close', () => resolve(!done));
          const pump = () => {
            while (written < TOTAL && !res.destroyed) {
              written += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', pump);
            }
            if (!res.destroyed) {
              done = true;
              res.end(']');
            }
          };
          pump();
        });
      };
      // A generous timeout: only the size limit may stop the read.
      const error = await pollSource(
        { time: scheduled },
        deps({ maxPageBytes: LIMIT, source: { ...source, timeoutSeconds: 60 } }),
      ).catch((e: unknown) => e);
      // The poller closed the connection long before the server got its whole body out.
      expect(await closedEarly).toBe(true);
      expect(written).toBeLessThan(TOTAL / 2);
      expect(error).toBeInstanceOf(PollFailedError);
      expect((error as Error).message).toMatch(new RegExp(`the limit is ${LIMIT} bytes per page`));
      expect(api.requests).toHaveLength(1);
      expect(letters.peekAll()).toEqual([
        expect.objectContaining({
          kind: 'fetch',
          reason: expect.stringMatching(
            new RegExp(`fetch failed: the response is more than ${LIMIT} bytes .*the limit is ${LIMIT} bytes per page`),
          ),
          url: `${api.base}/v1/costs`,
        }),
      ]);
      expect(await onStream()).toEqual([]);
    },
  );

  it('a declared content-length over the limit is refused before the body is read', async () => {
    api.route = (_req, res) =>
      void res
        .writeHead(200, { 'content-type': 'application/json', 'content-length': String(200_000) })
        .end(' '.repeat(200_000));
    await expect(pollSource({ time: scheduled }, deps({ maxPageBytes: 100_000 }))).rejects.toThrow(
      /the response is 200000 bytes; the limit is 100000 bytes per page/,
    );
  });

  it('a secret that cannot be read fails the run before any request, naming the secret', async () => {
    await expect(
      pollSource(
        { time: scheduled },
        deps({ readSecret: async () => Promise.reject(new Error('AccessDeniedException')) }),
      ),
    ).rejects.toThrow(/could not read secret billing-token: AccessDeniedException/);
    expect(api.requests).toEqual([]);
  });

  it('rejects a backfill window that is not one', async () => {
    await expect(
      pollSource({ window: { from: '2026-12-05T10:05:00Z', to: '2026-12-05T10:00:00Z' } }, deps()),
    ).rejects.toThrow(/from < to/);
  });
});
