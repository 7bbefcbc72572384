import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlannedAction } from '../../../lambdas/core/mitigation/actions.js';
import {
  signatureHeader,
  verifyWebhookSignature,
  WebhookTarget,
  type WebhookEvent,
} from '../../../lambdas/adapters/targets/webhook.js';
import { actionTargetsFromEnvironment } from '../../../lambdas/handlers/mitigation-workflow.js';

const SECRET = 'whsec_test_8f2c1d';
const T = Date.parse('2026-11-22T10:05:00Z');

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  /** What a receiver doing the documented check concludes. */
  verified: boolean;
}

/** A receiver on 127.0.0.1 that verifies each request's signature and answers from a script. */
class Receiver {
  readonly received: Received[] = [];
  script: (n: number) => { status: number; delayMs?: number } = () => ({ status: 200 });
  private server!: Server;
  url = '';

  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.received.push({
          headers: req.headers,
          body,
          verified: verifyWebhookSignature(
            SECRET,
            req.headers['x-anomaly-guard-signature'] as string,
            body,
            Date.now(),
          ),
        });
        const { status, delayMs } = this.script(this.received.length);
        const reply = () =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status < 300 }));
        if (delayMs) setTimeout(reply, delayMs);
        else reply();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/anomaly-guard`;
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

const planned: PlannedAction = {
  rollbackKey: 'acme#cqs_p95@2026-11-22T10:00Z/search-cost/rows-limit',
  episodeId: 'acme#cqs_p95@2026-11-22T10:00Z',
  tenant: 'acme',
  region: 'kr',
  step: {
    id: 'search-cost/rows-limit',
    title: 'rows ≤ 200',
    level: 'soft',
    target: 'webhook',
    flag: 'search.rows.max',
    value: 200,
    undo: 'restore-previous',
  },
};

describe('signed webhook target against a local HTTP receiver', () => {
  let receiver: Receiver;
  let delays: number[];
  const target = (over: { maxAttempts?: number; timeoutMs?: number; secret?: string } = {}) =>
    new WebhookTarget(
      {
        url: receiver.url,
        secretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:hook',
        maxAttempts: over.maxAttempts ?? 4,
        timeoutMs: over.timeoutMs ?? 2000,
      },
      {
        secret: over.secret ?? SECRET,
        sleep: async (ms) => {
          delays.push(ms);
        },
      },
    );

  beforeEach(async () => {
    receiver = new Receiver();
    delays = [];
    await receiver.start();
  });
  afterEach(() => receiver.stop());

  it(
    'POSTs the action as JSON, signed so the receiver ' + 'verifies it, with the rollback key as idempotency key',
    async () => {
      const applied = await target().apply(planned, T);
      expect(applied).toEqual({ ...planned, previous: null, appliedAt: T });
      expect(receiver.received).toHaveLength(1);
      const [req] = receiver.received;
      expect(req!.verified).toBe(true);
      expect(req!.headers['content-type']).toBe('application/json');
      expect(req!.headers['idempotency-key']).toBe(planned.rollbackKey);
      expect(req!.headers['x-anomaly-guard-event']).toBe('anomaly-guard.action.applied');
      expect(req!.headers['x-anomaly-guard-signature']).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
      const evt = JSON.parse(req!.body) as WebhookEvent;
      expect(evt).toEqual({
        type: 'anomaly-guard.action.applied',
        id: planned.rollbackKey,
        rollbackKey: planned.rollbackKey,
        episodeId: planned.episodeId,
        tenant: 'acme',
        region: 'kr',
        step: planned.step,
        at: T,
      });
    },
  );

  it('a tampered body, a wrong secret or a stale timestamp fails verification', async () => {
    await target().apply(planned, T);
    const { headers, body } = receiver.received[0]!;
    const sig = headers['x-anomaly-guard-signature'] as string;
    const tampered = body.replace('"value":200', '"value":2000');
    expect(tampered).not.toBe(body);
    expect(verifyWebhookSignature(SECRET, sig, tampered, Date.now())).toBe(false);
    expect(verifyWebhookSignature('another-secret', sig, body, Date.now())).toBe(false);
    expect(verifyWebhookSignature(SECRET, sig, body, Date.now() + 10 * 60_000)).toBe(false);
    expect(
      verifyWebhookSignature(SECRET, signatureHeader(SECRET, Math.floor(Date.now() / 1000), body), body, Date.now()),
    ).toBe(true);

    await target({ secret: 'rotated-but-receiver-not-told' }).apply(planned, T);
    expect(receiver.received[1]!.verified).toBe(false);
  });

  it('retries on 503 with growing backoff, resending the same body and idempotency key', async () => {
    receiver.script = (n) => ({ status: n <= 2 ? 503 : 200 });
    await target().apply(planned, T);
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    expect(delays).toHaveLength(2);
    expect(delays[1]!).toBeGreaterThan(delays[0]!);
  });

  it('does not retry a 4xx: fails at once with the status', async () => {
    receiver.script = () => ({ status: 422 });
    await expect(target().apply(planned, T)).rejects.toMatchObject({ name: 'WebhookRejectedError', status: 422 });
    expect(receiver.received).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('gives up after maxAttempts of 5xx with a retryable error', async () => {
    receiver.script = () => ({ status: 502 });
    await expect(target({ maxAttempts: 3 }).apply(planned, T)).rejects.toMatchObject({
      name: 'WebhookDeliveryError',
      message: expect.stringContaining('after 3 attempts (last: HTTP 502)'),
    });
    expect(receiver.received).toHaveLength(3);
  });

  it('retries a receiver that does not answer within the timeout', async () => {
    receiver.script = (n) => ({ status: 200, delayMs: n === 1 ? 1500 : 0 });
    await target({ timeoutMs: 300 }).apply(planned, T);
    expect(receiver.received).toHaveLength(2);
  });

  it('rollback posts a rolled-back event under its own idempotency key; undo "none" posts nothing', async () => {
    const t = target();
    const applied = await t.apply(planned, T);
    await t.rollback(applied, T + 900_000);
    expect(receiver.received).toHaveLength(2);
    const rb = receiver.received[1]!;
    expect(rb.verified).toBe(true);
    expect(rb.headers['idempotency-key']).toBe(`${planned.rollbackKey}:rollback`);
    expect(rb.headers['x-anomaly-guard-event']).toBe('anomaly-guard.action.rolled-back');
    expect(JSON.parse(rb.body)).toMatchObject({
      type: 'anomaly-guard.action.rolled-back',
      rollbackKey: planned.rollbackKey,
      at: T + 900_000,
    });

    await t.rollback({ ...applied, step: { ...applied.step, undo: 'none' } }, T + 900_001);
    expect(receiver.received).toHaveLength(2);
  });

  it(
    'asks for the secret at every delivery: a failed read ' + 'fails that delivery only, a rotated key signs the next',
    async () => {
      const keys = [new Error('Secrets Manager throttled'), SECRET, SECRET, 'whsec_rotated'];
      const t = new WebhookTarget(
        { url: receiver.url, secretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:hook' },
        {
          secret: async () => {
            const k = keys.shift()!;
            if (k instanceof Error) throw k;
            return k;
          },
          sleep: async () => {},
        },
      );
      await expect(t.apply(planned, T)).rejects.toThrow('Secrets Manager throttled');
      expect(receiver.received).toHaveLength(0);
      await t.apply(planned, T);
      await t.apply(planned, T);
      await t.apply(planned, T);
      expect(receiver.received.map((r) => r.verified)).toEqual([true, true, false]);
      const last = receiver.received[2]!;
      expect(
        verifyWebhookSignature(
          'whsec_rotated',
          last.headers['x-anomaly-guard-signature'] as string,
          last.body,
          Date.now(),
        ),
      ).toBe(true);
    },
  );

  it(
    "the workflow Lambda's wiring: an enabled webhook signs with the secret its config names, read through the " +
      'secret reader',
    async () => {
      const arn = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:hook-AbCdEf';
      // The flag table is not touched by webhook steps.
      const unusedDynamo = new DynamoDBClient({
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      const asked: string[] = [];
      const raw = JSON.stringify({
        webhook: { url: 'https://hooks.example.com/anomaly-guard', secretArn: arn, maxAttempts: 1 },
      });
      // The deployed config must be https; the requests are routed to the loopback receiver.
      const webhookOptions = {
        fetch: ((_url: string, init: RequestInit) => fetch(receiver.url, init)) as typeof fetch,
      };
      const targets = actionTargetsFromEnvironment(
        raw,
        { dynamo: unusedDynamo, tableName: 'unused', webhookOptions },
        async (id) => (asked.push(id), SECRET),
      );
      const applied = await targets.targetFor('webhook').apply(planned, T);
      await targets.targetFor('webhook').rollback(applied, T + 60_000);
      expect(asked).toEqual([arn, arn]);
      expect(receiver.received.map((r) => [r.headers['x-anomaly-guard-event'], r.verified])).toEqual([
        ['anomaly-guard.action.applied', true],
        ['anomaly-guard.action.rolled-back', true],
      ]);
      // Without a webhook in the config nothing reads a secret, and webhook steps are refused by name.
      const none = actionTargetsFromEnvironment(undefined, { dynamo: unusedDynamo, tableName: 'unused' }, async () =>
        expect.unreachable('no secret read'),
      );
      expect(() => none.targetFor('webhook')).toThrow(/actionTargets\.webhook/);
    },
  );

  it('a rollback key that is not ASCII still goes out (percent-encoded in the header, as is in the body)', async () => {
    const key = 'rb-검색-rows';
    await target().apply({ ...planned, rollbackKey: key }, T);
    expect(receiver.received[0]!.headers['idempotency-key']).toBe(encodeURIComponent(key));
    expect(JSON.parse(receiver.received[0]!.body).rollbackKey).toBe(key);
    expect(receiver.received[0]!.verified).toBe(true);
  });

  it('refuses a plain-http URL that is not loopback', () => {
    expect(
      () => new WebhookTarget({ url: 'http://hooks.example.com/x', secretArn: 'arn' }, { secret: SECRET }),
    ).toThrow(/must be https/);
  });
});
