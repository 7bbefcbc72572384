import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../lambdas/core/api/routes.js';
import { startLiveRuntime } from './live-runtime.js';

describe('local runtime: the operator API over plain HTTP on 127.0.0.1', () => {
  it('serves every synthesized route with the same handlers, and answers bad requests with 4xx', async () => {
    const runtime = await startLiveRuntime('ag-local-api-');
    const { base, lines } = runtime;
    try {
      const post = (
        path: string,
        body: unknown,
        headers: Record<string, string> = { 'content-type': 'application/json' },
      ) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers,
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });

      for (const r of API_ROUTES)
        expect(
          lines.some((l) => l.includes(`${r.method} ${r.path}`)),
          `${r.method} ${r.path} is served`,
        ).toBe(true);

      const report = await fetch(`${base}/v1/anomaly/report?range=48h`);
      expect(report.status).toBe(200);
      const reportBody = (await report.json()) as { anomalies: { id: string; tenant: string }[] };
      expect(reportBody.anomalies.length).toBeGreaterThan(0);

      const first = reportBody.anomalies[0]!;
      const dry = await post('/v1/anomaly/mitigate', { key: first.id, dry_run: true });
      expect(dry.status).toBe(200);
      expect(await dry.json()).toMatchObject({
        dryRun: true,
        key: first.id,
        decision: { allowed: expect.any(Boolean) },
      });

      const timeline = await fetch(`${base}/v1/anomaly/timeline?tenant=${encodeURIComponent(first.tenant)}&range=48h`);
      expect(timeline.status).toBe(200);
      expect(((await timeline.json()) as { signals: unknown[] }).signals.length).toBeGreaterThan(0);

      const score = await post('/v1/anomaly/score', {
        signals: [{ tenant: 'acme', signal: 'cqs_p95', value: 0.5, ts: Date.now() - 60_000 }],
      });
      expect(score.status).toBe(200);

      const now = Date.now();
      expect(
        (await post('/v1/anomaly/policy/whitelist', { tenant: 'acme', window: { from: now, to: now + 3_600_000 } }))
          .status,
      ).toBe(201);
      expect((await post('/v1/anomaly/rollback', { key: 'rb-0000abcd' })).status).toBe(404);

      const malformed = await post('/v1/anomaly/score', '{"signals":');
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('MalformedJson');
      const huge = await post('/v1/anomaly/score', JSON.stringify({ pad: 'x'.repeat(200_000) }));
      expect(huge.status).toBe(413);
      expect((await fetch(`${base}/v1/anomaly/score`)).status).toBe(405);
      const unknown = await fetch(`${base}/v1/nothing-here`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ error: { code: 'NotFound' } });
      expect((await fetch(`${base}/v1/local/summary`)).status).toBe(200);
    } finally {
      await runtime.stop();
    }
  }, 180_000);
});
