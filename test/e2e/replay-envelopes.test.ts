import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayEnvelopes } from '../../local/replay-envelopes.js';

const T0 = Date.parse('2026-11-20T00:00:00Z');

function prng(seed: number) {
  return () => (seed = (seed * 16807) % 2147483647) / 2147483647;
}

function write(lines: unknown[]): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ag-replay-'));
  const file = join(dir, 'in.jsonl');
  writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
  return { dir, file };
}

const alertsOf = (dir: string) =>
  readFileSync(join(dir, 'out', 'alerts.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('replay of envelope recordings', () => {
  it('detects a listener whose engagement collapses over the 10-minute window (seed 000)', async () => {
    const rnd = prng(3);
    const lines: unknown[] = [];
    // Eight hours of a listener mostly listening; from hour 6 for 40 minutes mostly pausing and exiting.
    for (let t = 0; t < 8 * 3600_000; t += 20_000) {
      const collapsed = t >= 6 * 3600_000 && t < 6 * 3600_000 + 40 * 60_000;
      const r = rnd();
      const action = collapsed
        ? r < 0.5
          ? 'exit'
          : r < 0.9
            ? 'pause'
            : 'listen'
        : r < 0.85
          ? 'listen'
          : r < 0.95
            ? 'pause'
            : 'seek';
      lines.push({ v: 1, type: 'activity', id: `a-${t}`, ts: T0 + t, key: 'user-42', tenant: 'podcast', action });
    }
    const { dir, file } = write(lines);
    const result = await replayEnvelopes({ input: file, out: join(dir, 'out') });
    expect(result).toMatchObject({ records: lines.length, processed: lines.length, deadLettered: 0 });
    const alerts = alertsOf(dir);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      tenant: 'podcast',
      signal: 'engagement',
      key: expect.stringMatching(/^podcast#engagement@user-42@/),
      decision: 'alert',
    });
    const start = Date.parse(alerts[0]!.start as string);
    expect(start).toBeGreaterThanOrEqual(T0 + 6 * 3600_000);
    expect(Date.parse(alerts[0]!.detectedAt as string) - (T0 + 6 * 3600_000)).toBeLessThanOrEqual(15 * 60_000);
  });

  it(
    'a release just before a cost spike: alert recommending the rollback, no automatic mitigation; maintenance ' +
      'suppresses',
    async () => {
      const rnd = prng(11);
      const lines: unknown[] = [];
      const spikes = [
        { from: 4 * 3600_000, tenant: 'acme' },
        { from: 6 * 3600_000, tenant: 'globex' },
      ];
      for (let t = 0; t < 8 * 3600_000; t += 10_000) {
        for (const tenant of ['acme', 'globex']) {
          const spike = spikes.some((s) => s.tenant === tenant && t >= s.from && t < s.from + 20 * 60_000) ? 1.6 : 1;
          lines.push({
            v: 1,
            type: 'metric',
            ts: T0 + t,
            tenant,
            signal: 'cqs_p95',
            region: 'kr',
            value: 0.0025 * (1 + 0.02 * (rnd() * 2 - 1)) * spike,
          });
        }
      }
      lines.push({
        v: 1,
        type: 'change',
        id: 'rel-381',
        ts: T0 + 4 * 3600_000 - 8 * 60_000,
        tenant: 'acme',
        change: 'release',
        region: 'kr',
        title: 'search 2.3',
      });
      lines.push({
        v: 1,
        type: 'change',
        id: 'mnt-1',
        ts: T0 + 6 * 3600_000 - 60_000,
        until: T0 + 7 * 3600_000,
        tenant: 'globex',
        change: 'maintenance',
      });
      // Producers announce a change when it happens: it sits in the stream at its own time.
      lines.sort((a, b) => (a as { ts: number }).ts - (b as { ts: number }).ts);
      const { dir, file } = write(lines);
      await replayEnvelopes({ input: file, out: join(dir, 'out') });
      const alerts = alertsOf(dir);
      expect(alerts.map((a) => [a.tenant, a.decision, a.class])).toEqual([
        ['acme', 'alert', 'app'],
        ['globex', 'suppressed', 'app'],
      ]);
      expect(alerts[0]!.correlatedChanges).toEqual(['rel-381']);
    },
  );
});
