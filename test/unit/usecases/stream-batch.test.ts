import { describe, expect, it } from 'vitest';
import { InMemoryAnomalyStore } from '../../../lambdas/adapters/in-memory/anomaly-store.js';
import { InMemoryChangeStore } from '../../../lambdas/adapters/in-memory/change-store.js';
import type { DeadLetter, DeadLetterSink } from '../../../lambdas/core/ports/dead-letter-sink.js';
import type { Notifier } from '../../../lambdas/core/ports/notifier.js';
import { InMemoryPositionLedger } from '../../../lambdas/adapters/in-memory/position-ledger.js';
import { InMemoryWindowStore } from '../../../lambdas/adapters/in-memory/window-store.js';
import type { SaveOutcome, StoredWindow, WindowStore } from '../../../lambdas/core/ports/window-store.js';
import type { MitigationStarter } from '../../../lambdas/core/ports/mitigation-starter.js';
import type { Anomaly } from '../../../lambdas/core/anomaly.js';
import type { KeyState } from '../../../lambdas/core/key-state.js';
import type { RawRecord } from '../../../lambdas/core/batch.js';
import type { AlertMessage } from '../../../lambdas/core/anomaly.js';
import type { ChangeRecord } from '../../../lambdas/core/envelope.js';
import { encodeState } from '../../../lambdas/core/key-state.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../../lambdas/core/window-settings.js';
import { processStreamBatch, type BatchOutcome, type StreamBatchDeps } from '../../../lambdas/usecases/stream-batch.js';
import { ARRIVED_AT, MINUTE, T0, raw, rng } from '../core/fixtures.js';

/** The in-memory change store, remembering each put so a test can see what was written again. */
class RecordingChangeStore extends InMemoryChangeStore {
  readonly puts: ChangeRecord[][] = [];
  override async put(changes: readonly ChangeRecord[]): Promise<void> {
    this.puts.push([...changes]);
    await super.put(changes);
  }
}

class RecordingNotifier implements Notifier {
  readonly published: AlertMessage[] = [];
  async publish(message: AlertMessage): Promise<void> {
    this.published.push(message);
  }
}

class RecordingDeadLetterSink implements DeadLetterSink {
  readonly sent: DeadLetter[] = [];
  async send(letters: readonly DeadLetter[]): Promise<void> {
    this.sent.push(...letters);
  }
}

class BrokenDeadLetterSink implements DeadLetterSink {
  async send(): Promise<void> {
    throw new Error('queue unavailable');
  }
}

function harness(deadLetters: DeadLetterSink = new RecordingDeadLetterSink()) {
  const deps = {
    windows: new InMemoryWindowStore(),
    changes: new RecordingChangeStore(),
    anomalies: new InMemoryAnomalyStore(),
    notifier: new RecordingNotifier(),
    deadLetters,
    ledger: new InMemoryPositionLedger(),
    settings: DEFAULT_WINDOW_SETTINGS,
    source: 'unit-test',
    now: () => ARRIVED_AT,
  } satisfies StreamBatchDeps;
  return deps;
}

const metric = (tenant: string, signal: string, ts: number, value: number | string, id?: string) => ({
  v: 1,
  type: 'metric',
  ts,
  tenant,
  signal,
  value,
  ...(id && { id }),
});
const activity = (key: string, ts: number, action: string) => ({
  v: 1,
  type: 'activity',
  ts,
  key,
  tenant: 'podcast',
  action,
});
const change = (id: string, ts: number) => ({
  v: 1,
  type: 'change',
  id,
  ts,
  tenant: 'acme',
  change: 'release',
  until: ts + 30 * MINUTE,
});

/**
 * One shard's batch: 23 valid observation records (incl. 1 late, 1 duplicate id), 3 invalid, and optionally 2 changes.
 */
function buildBatch(withChanges: boolean): {
  records: RawRecord[];
  valid: number;
  invalid: number;
  observations: number;
  changes: number;
} {
  const records: RawRecord[] = [];
  let n = 0;
  const add = (data: object | string, pk: string) => records.push(raw(data, ++n, pk));
  for (let i = 0; i < 10; i++) add(metric('acme', 'search_qps', T0 + i * MINUTE, 100 + i, `q-${i}`), 'acme');
  add(metric('acme', 'search_qps', T0 - 5 * MINUTE, 1), 'acme'); // late: 14 min behind the newest
  add(metric('acme', 'search_qps', T0 + 9 * MINUTE + 1, 999, 'q-9'), 'acme'); // producer retry of q-9
  add('{"v":1,"type":"metric"', 'acme'); // not JSON
  for (let i = 0; i < 5; i++) add(metric('beta', 'search_qps', T0 + i * 20_000, i), 'beta');
  add(metric('beta', 'search_qps', T0, 'lots'), 'beta'); // value as string
  if (withChanges) add(change('rel-1', T0), 'acme');
  for (let i = 0; i < 3; i++) add(activity('user-1', T0 + i * 1_000, 'listen'), 'user-1');
  for (let i = 0; i < 3; i++) add(activity('user-2', T0 + i * 1_000, i === 2 ? 'exit' : 'pause'), 'user-2');
  add(activity('user#3', T0, 'listen'), 'user#3'); // '#' in the key
  if (withChanges) add(change('rel-2', T0 + MINUTE), 'acme');
  const changes = withChanges ? 2 : 0;
  return { records, observations: 23, changes, invalid: 3, valid: 23 + changes };
}

async function snapshot(deps: ReturnType<typeof harness>, keys: readonly string[]) {
  const loaded = await deps.windows.loadMany(keys);
  return JSON.stringify([...loaded].map(([k, v]) => [k, v.version, encodeState(v.state)]));
}

const KEYS = ['acme#search_qps', 'beta#search_qps', 'podcast#engagement@user-1', 'podcast#engagement@user-2'];

const expectCountsAddUp = (o: BatchOutcome) => expect(o.processed + o.deadLettered + o.failed.length).toBe(o.received);

describe('processStreamBatch', () => {
  it('accounts for every record of a first delivery: received = processed + deadLettered + failed', async () => {
    const deps = harness();
    const { records, valid, invalid } = buildBatch(true);
    const o = await processStreamBatch(records, deps);
    expect(o.received).toBe(records.length);
    expect(o.failed).toEqual([]);
    expect(o.processed).toBe(valid);
    expect(o.deadLettered).toBe(invalid);
    expectCountsAddUp(o);
    expect(o).toMatchObject({
      late: 1,
      duplicate: 1,
      redelivered: 0,
      changes: 2,
      keys: 4,
      stateWrites: 4,
      conflicts: 0,
    });
    // The dead letters carry the payload and a reason naming the problem.
    const sink = deps.deadLetters as RecordingDeadLetterSink;
    expect(sink.sent.map((l) => l.reason)).toEqual([
      expect.stringMatching(/not JSON/),
      expect.stringMatching(/^value: /),
      expect.stringMatching(/^key: /),
    ]);
    expect(sink.sent[1]).toMatchObject({
      partitionKey: 'beta',
      source: 'unit-test',
      data: expect.stringContaining('"lots"'),
    });
    expect(deps.changes.puts.flat().map((c) => c.id)).toEqual(['rel-1', 'rel-2']);
    // The state holds what was folded: 10 distinct minutes for acme, the late one and the retry left out.
    const acme = await deps.windows.load('acme#search_qps');
    expect(acme!.state.buckets.reduce((t, b) => t + b.n, 0)).toBe(10);
    expect(acme!.state.buckets.some((b) => b.max === 999 || b.min === 1)).toBe(false);
  });

  it(
    'when the dead-letter sink throws, reports the invalid records as failed (to be redelivered) and does not ' +
      'count them as dead-lettered',
    async () => {
      const deps = harness(new BrokenDeadLetterSink());
      const { records, valid, invalid } = buildBatch(false);
      const o = await processStreamBatch(records, deps);
      expect(o.deadLettered).toBe(0);
      expect(o.failed).toHaveLength(invalid);
      const invalidSeqs = [records[12], records[18], records[25]].map((r) => r!.position.sequenceNumber);
      expect(o.failed.map((f) => f.position.sequenceNumber).sort()).toEqual(invalidSeqs.sort());
      expect(o.failed[0]!.error).toMatch(/queue unavailable/);
      expect(o.processed).toBe(valid);
      expectCountsAddUp(o);

      // Lambda resumes from the lowest failed record; with a working sink they reach the dead-letter queue.
      const working = new RecordingDeadLetterSink();
      const again = { ...deps, deadLetters: working };
      const lowest = records.findIndex((r) => r.position.sequenceNumber === invalidSeqs[0]);
      const retry = await processStreamBatch(records.slice(lowest), again);
      expect(retry.failed).toEqual([]);
      expect(retry.deadLettered).toBe(invalid);
      expect(working.sent.map((l) => l.sequenceNumber).sort()).toEqual(invalidSeqs.sort());
      expect(retry.processed).toBe(0);
    },
  );

  it(
    'a second delivery of the same batch changes nothing: processed=0, deadLettered=0, every record counted as ' +
      'redelivered, same state',
    async () => {
      const deps = harness();
      const { records, observations } = buildBatch(false);
      const first = await processStreamBatch(records, deps);
      expect(first.failed).toEqual([]);
      const before = await snapshot(deps, KEYS);
      const second = await processStreamBatch(records, deps);
      expect(second).toMatchObject({
        processed: 0,
        deadLettered: 0,
        redelivered: records.length,
        late: 0,
        duplicate: 0,
        stateWrites: 0,
        writeUnits: 0,
        failed: [],
      });
      expect(observations).toBeLessThan(records.length);
      expect(second.windows).toEqual([]);
      expect(await snapshot(deps, KEYS)).toBe(before);
      expect((deps.deadLetters as RecordingDeadLetterSink).sent).toHaveLength(3);
    },
  );

  it('a second delivery of a batch with change records neither re-puts nor re-counts them', async () => {
    const deps = harness();
    const { records } = buildBatch(true);
    const first = await processStreamBatch(records, deps);
    expect(first.received).toBe(first.processed + first.deadLettered + first.redelivered);
    const puts = (deps.changes as RecordingChangeStore).puts.length;
    const second = await processStreamBatch(records, deps);
    expect(second.processed).toBe(0);
    expect(second.redelivered).toBe(records.length);
    expect((deps.changes as RecordingChangeStore).puts.length).toBe(puts);
  });

  it('emits windows once, across batches, as event time advances', async () => {
    const deps = harness();
    const mk = (from: number, to: number, seq0: number) =>
      Array.from({ length: to - from }, (_, i) =>
        raw(metric('acme', 'ingest_rpm', T0 + (from + i) * MINUTE, from + i), seq0 + i),
      );
    const a = await processStreamBatch(mk(0, 5, 1), deps);
    const b = await processStreamBatch(mk(5, 20, 100), deps);
    const ends = [...a.windows, ...b.windows].map((w) => (w.end - T0) / MINUTE);
    // Max ts T0+19min, lateness 2 min: windows ending T0+1 .. T0+17 minutes are closed.
    expect(ends).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    expect(new Set(ends).size).toBe(ends.length);
  });

  it(
    "keeps a metric key's stored item (windows + detection state) ≤ 4 KB over 12 hours of data with ids from 3 " +
      'shards',
    async () => {
      const deps = harness();
      const r = rng(3);
      let n = 0;
      let largest = 0;
      for (let batch = 0; batch < 12 * 6; batch++) {
        const records: RawRecord[] = [];
        for (let i = 0; i < 20; i++) {
          const ts = T0 + batch * 10 * MINUTE + i * 30_000;
          const value = Math.round((800 + 200 * Math.sin(ts / 3.6e6) + r() * 100) * 1e6) / 1e6;
          n++;
          records.push(
            raw(
              {
                v: 1,
                type: 'metric',
                id: `evt-${n}-${Math.floor(r() * 1e9)}`,
                ts,
                tenant: 'tenant-with-a-long-name',
                signal: 'cost_per_tb_scanned',
                value,
                region: 'ap-northeast-2',
              },
              n,
              'tenant-with-a-long-name',
              `shardId-00000000000${n % 3}`,
              ts + 1_000,
            ),
          );
        }
        const o = await processStreamBatch(records, deps);
        expect(o.failed).toEqual([]);
        const stored = await deps.windows.load('tenant-with-a-long-name#cost_per_tb_scanned');
        largest = Math.max(largest, Buffer.byteLength(encodeState(stored!.state)));
      }
      expect(largest).toBeLessThanOrEqual(4096);
    },
  );

  it('a record from a fast clock does not make the honest records after it late (issue 18.7)', async () => {
    const deps = harness();
    const arrival = T0 + 3 * MINUTE;
    // Honest traffic up to its arrival, then one producer 14 minutes ahead (inside the 15-minute skew bound).
    const first = Array.from({ length: 6 }, (_, i) =>
      raw(metric('acme', 'ingest_rpm', T0 + i * 30_000, 100, `h-${i}`), i + 1, 'acme', undefined, arrival),
    );
    first.push(raw(metric('acme', 'ingest_rpm', arrival + 14 * MINUTE, 100, 'fast'), 7, 'acme', undefined, arrival));
    const a = await processStreamBatch(first, deps);
    expect(a).toMatchObject({ late: 0, deadLettered: 0, failed: [] });
    // The next 12 minutes of honest records, each reaching the stream 20 s after its event time.
    const honest = Array.from({ length: 24 }, (_, i) => {
      const ts = arrival + i * 30_000;
      return raw(metric('acme', 'ingest_rpm', ts, 100, `n-${i}`), 100 + i, 'acme', undefined, ts + 20_000);
    });
    const b = await processStreamBatch(honest, deps);
    expect(b).toMatchObject({ late: 0, duplicate: 0, deadLettered: 0, failed: [] });
    expect(b.processed).toBe(24);
    // Every honest minute is counted in full: 2 records a minute.
    const closedMinutes = [...a.windows, ...b.windows].map((w) => w.lastMinute?.n).filter((n) => n !== undefined);
    expect(closedMinutes.length).toBeGreaterThan(5);
    expect(closedMinutes.every((n) => n === 2)).toBe(true);
  });

  it(
    'after a version conflict that moves the episode start, pages once and starts one workflow, for the episode ' +
      'that was saved (issue 18.8)',
    async () => {
      const KEY = 'acme#cqs_p95';
      const T = Date.UTC(2026, 10, 22, 6);
      let seed = 7;
      const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      // Three hours of acme cqs_p95 every 10 s with ±2 % noise, +60 % from minute 150.
      const series = Array.from({ length: 170 * 6 }, (_, i) => {
        const minute = Math.floor(i / 6);
        return {
          v: 1,
          type: 'metric',
          id: `m-${i}`,
          ts: T + i * 10_000,
          tenant: 'acme',
          signal: 'cqs_p95',
          region: 'kr',
          value: 0.0025 * (1 + 0.02 * (rnd() * 2 - 1)) * (minute >= 150 ? 1.6 : 1),
        };
      });
      const records = series.map((r, i) => raw(r, i + 1, 'acme', undefined, r.ts + 1_000));
      const inner = new InMemoryWindowStore();
      const base = harness();
      const mitigations = new RecordingMitigationStarter();
      // Another invocation (a second shard after a reshard) folds spiked records of minute 149 while
      // this one is folding minutes 149.., and saves first: this invocation's save then conflicts.
      let armed = false;
      const other = { ...base, windows: inner, mitigations };
      const otherRecords = [
        ...[5, 15, 25, 35, 45].map((s, i) =>
          raw(
            {
              v: 1,
              type: 'metric',
              id: `b-${i}`,
              ts: T + 149 * MINUTE + s * 1000,
              tenant: 'acme',
              signal: 'cqs_p95',
              region: 'kr',
              value: 0.0025 * 2.5,
            },
            i + 1,
            'acme',
            'shardId-000000000001',
            T + 153 * MINUTE,
          ),
        ),
        raw(
          {
            v: 1,
            type: 'metric',
            id: 'b-9',
            ts: T + 152 * MINUTE,
            tenant: 'acme',
            signal: 'cqs_p95',
            region: 'kr',
            value: 0.0025 * 1.6,
          },
          9,
          'acme',
          'shardId-000000000001',
          T + 153 * MINUTE,
        ),
      ];
      const windows: WindowStore = {
        loadMany: (keys) => inner.loadMany(keys),
        load: (key) => inner.load(key),
        async save(state: KeyState, version: number | undefined): Promise<SaveOutcome> {
          if (armed && state.key === KEY) {
            armed = false;
            const o = await processStreamBatch(otherRecords, other);
            expect(o).toMatchObject({ failed: [], alerts: 0, mitigationsStarted: 0 });
          }
          return inner.save(state, version);
        },
      };
      const deps = { ...base, windows, mitigations };
      const before = records.filter((r) => JSON.parse(Buffer.from(r.data).toString()).ts < T + 149 * MINUTE);
      for (let i = 0; i < before.length; i += 120)
        expect((await processStreamBatch(before.slice(i, i + 120), deps)).failed).toEqual([]);
      expect(base.notifier.published).toHaveLength(0);
      armed = true;
      const o = await processStreamBatch(records.slice(before.length), deps);
      expect(o.failed).toEqual([]);
      expect(o.conflicts).toBe(1);
      const stored = (await inner.load(KEY)) as StoredWindow;
      const episode = stored.state.trk?.episode;
      expect(episode?.confirmedAt).toBeDefined();
      // The other writer's spiked minute 149 moved the episode start one minute earlier than this invocation first
      // folded.
      expect(episode!.id).toBe(`${KEY}@2026-11-22T08:29Z`);
      // Exactly one page and one workflow, both for the episode the saved state holds.
      expect(base.notifier.published).toHaveLength(1);
      expect(JSON.parse(base.notifier.published[0]!.body).anomalyKey).toBe(episode!.id);
      expect(mitigations.started.map((a) => a.id)).toEqual([episode!.id]);
      expect([...base.anomalies.anomalies.keys()]).toEqual([episode!.id]);
    },
  );
});

class RecordingMitigationStarter implements MitigationStarter {
  readonly started: Anomaly[] = [];
  async start(anomaly: Anomaly): Promise<{ execution: string; started: boolean }> {
    const seen = this.started.some((a) => a.id === anomaly.id);
    if (!seen) this.started.push(anomaly);
    return { execution: `mit-${anomaly.id}`, started: !seen };
  }
}
