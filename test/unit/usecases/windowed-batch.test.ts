import { describe, expect, it } from 'vitest';
import { InMemoryAnomalyStore } from '../../../lambdas/adapters/in-memory/anomaly-store.js';
import { InMemoryChangeStore } from '../../../lambdas/adapters/in-memory/change-store.js';
import { InMemoryPositionLedger } from '../../../lambdas/adapters/in-memory/position-ledger.js';
import { InMemoryWindowStore } from '../../../lambdas/adapters/in-memory/window-store.js';
import type { AlertMessage } from '../../../lambdas/core/anomaly.js';
import type { RawRecord } from '../../../lambdas/core/batch.js';
import type { KeyState } from '../../../lambdas/core/key-state.js';
import type { DeadLetter, DeadLetterSink } from '../../../lambdas/core/ports/dead-letter-sink.js';
import type { Notifier } from '../../../lambdas/core/ports/notifier.js';
import type { SaveOutcome, StoredWindow, WindowStore } from '../../../lambdas/core/ports/window-store.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../../lambdas/core/window-settings.js';
import { processStreamBatch, type StreamBatchDeps } from '../../../lambdas/usecases/stream-batch.js';
import { processWindowedBatch } from '../../../lambdas/usecases/windowed-batch.js';
import { MINUTE, pos, raw } from '../core/fixtures.js';

class RecordingNotifier implements Notifier {
  readonly published: AlertMessage[] = [];
  failNext = 0;
  async publish(message: AlertMessage): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('SNS throttled');
    }
    this.published.push(message);
  }
}

class RecordingDeadLetterSink implements DeadLetterSink {
  readonly sent: DeadLetter[] = [];
  failNext = 0;
  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('queue unavailable');
    }
    this.sent.push(...letters);
  }
}

/** The in-memory store, counting every call: a non-final invocation must make none. */
class CountingWindowStore implements WindowStore {
  readonly inner = new InMemoryWindowStore();
  loads = 0;
  saves = 0;
  async loadMany(keys: readonly string[]): Promise<Map<string, StoredWindow>> {
    this.loads++;
    return this.inner.loadMany(keys);
  }
  async load(key: string): Promise<StoredWindow | undefined> {
    this.loads++;
    return this.inner.load(key);
  }
  async save(state: KeyState, v: number | undefined): Promise<SaveOutcome> {
    this.saves++;
    return this.inner.save(state, v);
  }
}

const T = Date.UTC(2026, 10, 22, 6);
const KEYS = [
  ['acme', 'cqs_p95'],
  ['acme', 'search_qps'],
  ['globex', 'cqs_p95'],
] as const;

/** 170 minutes of three keys every 10 s (±2 % noise), acme cqs_p95 +60 % from minute 150; each with a resend. */
function series(): RawRecord[] {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const out: RawRecord[] = [];
  let n = 0;
  for (let i = 0; i < 170 * 6; i++) {
    for (const [tenant, signal] of KEYS) {
      const minute = Math.floor(i / 6);
      const spike = tenant === 'acme' && signal === 'cqs_p95' && minute >= 150 ? 1.6 : 1;
      const env = {
        v: 1,
        type: 'metric',
        id: `${tenant}-${signal}-${i}`,
        ts: T + i * 10_000,
        tenant,
        signal,
        region: 'kr',
        value: 0.0025 * (1 + 0.02 * (rnd() * 2 - 1)) * spike,
      };
      out.push(raw(env, ++n, tenant, undefined, env.ts + 1_000));
      if (i % 50 === 7) out.push(raw(env, ++n, tenant, undefined, env.ts + 1_500));
    }
  }
  return out;
}

function deps(windows: WindowStore = new CountingWindowStore()) {
  return {
    windows,
    changes: new InMemoryChangeStore(),
    anomalies: new InMemoryAnomalyStore(),
    notifier: new RecordingNotifier(),
    deadLetters: new RecordingDeadLetterSink(),
    ledger: new InMemoryPositionLedger(),
    settings: DEFAULT_WINDOW_SETTINGS,
    source: 'unit-test',
    now: () => T,
  } satisfies StreamBatchDeps;
}

/** Records cut into 60-second tumbling windows on their arrival time. */
function tumbling(records: readonly RawRecord[]): RawRecord[][] {
  const out = new Map<number, RawRecord[]>();
  for (const r of records) {
    const w = Math.floor(r.arrivedAt / MINUTE);
    if (!out.has(w)) out.set(w, []);
    out.get(w)!.push(r);
  }
  return [...out.values()];
}

async function runWindows(records: readonly RawRecord[], d: ReturnType<typeof deps>, perInvocation = 7) {
  const totals = { processed: 0, duplicate: 0, stateWrites: 0, alerts: 0, redelivered: 0 };
  for (const w of tumbling(records)) {
    let state: unknown = {};
    for (let i = 0; i < w.length; i += perInvocation) {
      const r = await processWindowedBatch(
        w.slice(i, i + perInvocation),
        { state, final: false, terminatedEarly: false },
        d,
      );
      expect(r.outcome.failed).toEqual([]);
      state = JSON.parse(JSON.stringify(r.state));
      totals.processed += r.outcome.processed;
    }
    for (;;) {
      const r = await processWindowedBatch([], { state, final: true, terminatedEarly: false }, d);
      totals.processed += r.outcome.processed;
      totals.duplicate += r.outcome.duplicate;
      totals.stateWrites += r.outcome.stateWrites;
      totals.alerts += r.outcome.alerts;
      totals.redelivered += r.outcome.redelivered;
      if (!r.finalFailed) {
        expect(r.state).toEqual({});
        break;
      }
    }
  }
  return totals;
}

describe('processWindowedBatch (tumbling windows)', () => {
  it('pages the same episode as the per-batch path, writing each key once per window and nothing before', async () => {
    const records = series();
    const perBatch = deps();
    for (let i = 0; i < records.length; i += 50)
      expect((await processStreamBatch(records.slice(i, i + 50), perBatch)).failed).toEqual([]);
    const windowed = deps();
    const store = windowed.windows as CountingWindowStore;
    const totals = await runWindows(records, windowed);
    expect(windowed.notifier.published).toHaveLength(1);
    expect(windowed.notifier.published.map((m) => JSON.parse(m.body).anomalyKey)).toEqual(
      perBatch.notifier.published.map((m) => JSON.parse(m.body).anomalyKey),
    );
    const windows = tumbling(records).length;
    // One write per key and window; every record accounted for once.
    expect(totals.stateWrites).toBe(windows * KEYS.length);
    expect(store.saves).toBe(windows * KEYS.length);
    expect(totals.processed).toBe(records.length);
    expect(totals.duplicate).toBe(records.length - 170 * 6 * KEYS.length);
    const a = (await perBatch.windows.load('acme#cqs_p95'))!.state;
    const b = (await store.load('acme#cqs_p95'))!.state;
    expect(b.buckets.map(({ i: _i, ...x }) => x)).toEqual(a.buckets.map(({ i: _i, ...x }) => x));
    expect(b.trk?.episode?.id).toBe(a.trk?.episode?.id);
  });

  it('makes no state-table call in a non-final invocation', async () => {
    const d = deps();
    const store = d.windows as CountingWindowStore;
    const r = await processWindowedBatch(
      series().slice(0, 300),
      { state: {}, final: false, terminatedEarly: false },
      d,
    );
    expect(r.outcome.failed).toEqual([]);
    expect(store.loads + store.saves).toBe(0);
    expect(Object.keys((r.state as { k: object }).k)).toHaveLength(KEYS.length);
  });

  it('retries a failed final invocation with the same state: keys already saved are skipped, one page', async () => {
    const d = deps();
    const records = series();
    // Every final invocation's first attempt fails on its first publish (the page of the spike).
    d.notifier.failNext = 1;
    const totals = await runWindows(records, d);
    expect(d.notifier.published).toHaveLength(1);
    expect(totals.redelivered).toBeGreaterThan(0);
    expect(totals.processed).toBe(records.length);
  });

  it(
    'reports a failed dead letter as a batch item failure, aggregating only the records before it; the ' +
      'redelivery from there counts every record once',
    async () => {
      const d = deps();
      const good = series().slice(0, 30);
      const at = (r: RawRecord, n: number): RawRecord => ({ ...r, position: pos(n) });
      const bad = raw('{"v":1,"type":"metric"', 11, 'acme', undefined, good[0]!.arrivedAt);
      const batch = [
        ...good.slice(0, 10).map((r, i) => at(r, i + 1)),
        bad,
        ...good.slice(10).map((r, i) => at(r, i + 12)),
      ];
      d.deadLetters.failNext = 1;
      const first = await processWindowedBatch(batch, { state: {}, final: false, terminatedEarly: false }, d);
      expect(first.outcome.failed.map((f) => f.position.sequenceNumber)).toEqual([bad.position.sequenceNumber]);
      expect((first.state as { p?: string }).p).toBe(pos(10).sequenceNumber);
      // Lambda resumes at the failed record with the returned state (or the previous one: nothing of this
      // batch after the failure is in the state either way).
      const again = await processWindowedBatch(
        batch.slice(10),
        { state: first.state, final: false, terminatedEarly: false },
        d,
      );
      expect(again.outcome.failed).toEqual([]);
      expect(again.outcome.deadLettered).toBe(1);
      expect(again.outcome.redelivered).toBe(0);
      // A second delivery of the same tail (the response was lost) is recognised by the window's position.
      const twice = await processWindowedBatch(
        batch.slice(10),
        { state: again.state, final: false, terminatedEarly: false },
        d,
      );
      expect(twice.outcome.redelivered).toBe(batch.length - 10);
      const fin = await processWindowedBatch([], { state: twice.state, final: true, terminatedEarly: false }, d);
      expect(fin.outcome.processed).toBe(good.length);
    },
  );

  it('spills the largest keys into their items when the state grows past the bound', async () => {
    const d = deps();
    const store = d.windows as CountingWindowStore;
    const records = series().slice(0, 600);
    const r = await processWindowedBatch(records, { state: {}, final: false, terminatedEarly: false }, d, {
      spillAboveBytes: 2_000,
      spillToBytes: 1_000,
    });
    expect(r.spilled).toBeGreaterThan(0);
    expect(store.saves).toBe(r.spilled);
    const fin = await processWindowedBatch([], { state: r.state, final: true, terminatedEarly: false }, d);
    expect(r.outcome.processed + fin.outcome.processed).toBe(records.length);
  });
});
