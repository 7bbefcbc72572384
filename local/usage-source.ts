import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseSourceConfigs, type UsageSourceConfig } from '../lambdas/core/ingest/source-config.js';
import { seededRandom } from './random.js';

/** The local stand-in for a vendor's cost API the poller reads (seed 001): a billing export in cents per minute. */
export interface LocalUsageSource {
  /** The source as it would appear in `cdk.json` context, pointing at this server. */
  readonly config: UsageSourceConfig;
  /** The bearer token the server accepts; the local secret store holds it under `config.auth.secret`. */
  readonly token: string;
  readonly requests: number;
  close(): Promise<void>;
}

export const LOCAL_SOURCE_NAME = 'vendor-billing';
export const LOCAL_SOURCE_SECRET = 'anomaly-guard/vendor-billing';
const CUSTOMERS = [
  { customer: 'acme', region: 'kr', usdPerMinute: 0.42 },
  { customer: 'globex', region: 'us', usdPerMinute: 0.17 },
];
const PAGE_SIZE = 4;
/** One line item an hour arrives unpriced, as real exports do: the poller dead-letters it with the reason. */
const UNPRICED_MINUTE = 37;

/**
 * Serves `GET /v1/costs?from=<epoch s>&to=<epoch s>[&cursor=…]` on 127.0.0.1 behind a bearer token: one
 * line item per customer and minute in [from, to), `PAGE_SIZE` per page with a relative `next` link.
 * Amounts are a deterministic function of the minute, so a re-poll returns the same items.
 */
export async function startLocalUsageSource(): Promise<LocalUsageSource> {
  const token = randomBytes(18).toString('base64url');
  const expected = Buffer.from(`Bearer ${token}`);
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected))
      return send(401, { error: 'invalid or missing bearer token' });
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/v1/costs') return send(404, { error: 'not found' });
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    const offset = Number(url.searchParams.get('cursor') ?? 0);
    if (
      !Number.isInteger(from) ||
      !Number.isInteger(to) ||
      to <= from ||
      to - from > 86_400 ||
      !Number.isInteger(offset) ||
      offset < 0
    )
      return send(400, { error: 'from and to must be epoch seconds with from < to, at most a day apart' });
    const items = lineItems(from, to);
    const page = items.slice(offset, offset + PAGE_SIZE);
    const rest = offset + PAGE_SIZE < items.length;
    send(200, {
      period: { start: from, end: to },
      items: page,
      next: rest ? `/v1/costs?from=${from}&to=${to}&cursor=${offset + PAGE_SIZE}` : null,
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const [config] = parseSourceConfigs([
    {
      name: LOCAL_SOURCE_NAME,
      url: `http://127.0.0.1:${port}/v1/costs?from={windowStartEpoch}&to={windowEndEpoch}`,
      scheduleMinutes: 5,
      timeoutSeconds: 5,
      auth: { secret: LOCAL_SOURCE_SECRET, scheme: 'bearer' },
      pagination: { next: 'next' },
      mapping: [
        {
          records: 'items',
          type: 'metric',
          fields: {
            tenant: 'customer',
            signal: "join('_', [service, 'cost_usd'])",
            value: 'amount',
            ts: 'period_start',
            region: 'region',
          },
        },
      ],
    },
  ]);
  return {
    config: config!,
    token,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface LineItem {
  customer: string;
  service: string;
  region: string;
  period_start: number;
  amount: string;
  currency: string;
}

function lineItems(from: number, to: number): LineItem[] {
  const items: LineItem[] = [];
  for (let minute = Math.ceil(from / 60); minute * 60 < to; minute++) {
    const random = seededRandom(minute);
    for (const c of CUSTOMERS) {
      const amount = c.usdPerMinute * (1 + 0.03 * (random() - 0.5));
      const unpriced = minute % 60 === UNPRICED_MINUTE && c.customer === 'globex';
      items.push({
        customer: c.customer,
        service: 'cdn',
        region: c.region,
        period_start: minute * 60,
        amount: unpriced ? 'n/a' : amount.toFixed(4),
        currency: 'USD',
      });
    }
  }
  return items;
}
