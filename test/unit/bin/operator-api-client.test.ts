import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiGatewayRegion, callOperatorApi } from '../../../bin/operator-api-client.js';

describe('the CLI operator API client', () => {
  const seen: { headers: Record<string, unknown>; body: string; url: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body, url: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('names the local user to the local runtime (which records it as the decider) and sends the body', async () => {
    const res = await callOperatorApi(base, 'POST', '/v1/anomaly/approve', { key: 'rb-1a2b3c4d', decision: 'deny' });
    expect(res).toEqual({ status: 200, body: { ok: true } });
    expect(seen[0]!.url).toBe('/v1/anomaly/approve');
    expect(seen[0]!.headers['x-local-user']).toBe(process.env.USER ?? 'cli');
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(JSON.parse(seen[0]!.body)).toEqual({ key: 'rb-1a2b3c4d', decision: 'deny' });
  });

  it('signs only API Gateway URLs, in their own region', () => {
    expect(apiGatewayRegion(new URL('https://abc123.execute-api.ap-northeast-2.amazonaws.com/prod/'))).toBe(
      'ap-northeast-2',
    );
    expect(apiGatewayRegion(new URL('http://127.0.0.1:8787/'))).toBeUndefined();
    expect(apiGatewayRegion(new URL('https://execute-api.example.com/'))).toBeUndefined();
  });
});
