import { decodeBatch, type InvalidRecord, type RawRecord } from '../core/batch.js';
import type { Observation, StreamPosition } from '../core/observations.js';
import { compareSequence, foldObservations, type WindowResult, type WindowState } from '../core/window-state.js';
import type { WindowSettings } from '../core/window-settings.js';
import type { ChangeStore } from '../adapters/change-store.js';
import { toDeadLetter, type DeadLetterSink } from '../adapters/dead-letter.js';
import type { PositionLedger } from '../adapters/position-ledger.js';
import type { WindowStore } from '../adapters/window-store.js';

export interface StreamBatchDeps {
  readonly windows: WindowStore;
  readonly changes: ChangeStore;
  readonly deadLetters: DeadLetterSink;
  /** Which invalid records were already dead-lettered by an earlier delivery. */
  readonly deadLetterLedger: PositionLedger;
  readonly settings: WindowSettings;
  /** Names the consumer in dead letters (function name, or "local"). */
  readonly source: string;
  /** Re-read and re-fold attempts per key when another writer got there first. */
  readonly maxConflictRetries?: number;
  /** Keys saved in parallel. */
  readonly saveConcurrency?: number;
}

export interface BatchOutcome {
  received: number;
  /** Valid records accepted for the first time (folded, late, duplicate or stored changes). */
  processed: number;
  deadLettered: number;
  late: number;
  duplicate: number;
  redelivered: number;
  changes: number;
  keys: number;
  stateWrites: number;
  writeUnits: number;
  conflicts: number;
  windows: WindowResult[];
  /** Records whose effect could not be saved: report them so Lambda delivers them again. */
  failed: { position: StreamPosition; error: string }[];
}

const DEFAULT_CONFLICT_RETRIES = 5;
const DEFAULT_SAVE_CONCURRENCY = 16;

/** The consumer's whole job for one batch: decode, dead-letter, store changes, fold and save each key once. */
export async function processStreamBatch(records: readonly RawRecord[], deps: StreamBatchDeps): Promise<BatchOutcome> {
  const outcome: BatchOutcome = {
    received: records.length,
    processed: 0,
    deadLettered: 0,
    late: 0,
    duplicate: 0,
    redelivered: 0,
    changes: 0,
    keys: 0,
    stateWrites: 0,
    writeUnits: 0,
    conflicts: 0,
    windows: [],
    failed: [],
  };
  const batch = decodeBatch(records);
  const fail = (positions: readonly StreamPosition[], error: unknown) => {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    for (const position of positions) outcome.failed.push({ position, error: message });
  };

  await Promise.all([
    deadLetterInvalid(batch.invalid, deps).then(
      (sent) => (outcome.deadLettered += sent),
      (e) => fail(batch.invalid.map((i) => i.raw.position), e),
    ),
    batch.changes.length
      ? deps.changes.put(batch.changes.map((c) => c.change)).then(
          () => {
            outcome.changes += batch.changes.length;
            outcome.processed += batch.changes.length;
          },
          (e) => fail(batch.changes.map((c) => c.position), e),
        )
      : undefined,
    foldAndSaveKeys(batch.byKey, deps, outcome, fail),
  ]);
  return outcome;
}

async function deadLetterInvalid(invalid: readonly InvalidRecord[], deps: StreamBatchDeps): Promise<number> {
  if (!invalid.length) return 0;
  const group = (i: InvalidRecord) => `${i.raw.position.shardId}#${i.raw.partitionKey}`;
  const done = await deps.deadLetterLedger.lastDone([...new Set(invalid.map(group))]);
  const unsent = invalid.filter((i) => {
    const last = done.get(group(i));
    return last === undefined || compareSequence(i.raw.position.sequenceNumber, last) > 0;
  });
  if (!unsent.length) return 0;
  await deps.deadLetters.send(unsent.map((i) => toDeadLetter(i, deps.source)));
  const newest = new Map<string, string>();
  for (const i of unsent) newest.set(group(i), i.raw.position.sequenceNumber);
  await deps.deadLetterLedger.markDone(newest);
  return unsent.length;
}

async function foldAndSaveKeys(
  byKey: Map<string, Observation[]>,
  deps: StreamBatchDeps,
  outcome: BatchOutcome,
  fail: (positions: readonly StreamPosition[], error: unknown) => void,
): Promise<void> {
  const keys = [...byKey.keys()];
  if (!keys.length) return;
  outcome.keys = keys.length;
  const positionsOf = (key: string) => byKey.get(key)!.flatMap((o) => (o.position ? [o.position] : []));
  let loaded: Map<string, { state: WindowState; version: number }>;
  try {
    loaded = await deps.windows.loadMany(keys);
  } catch (e) {
    fail(keys.flatMap(positionsOf), e);
    return;
  }
  const retries = deps.maxConflictRetries ?? DEFAULT_CONFLICT_RETRIES;
  await forEachLimit(keys, deps.saveConcurrency ?? DEFAULT_SAVE_CONCURRENCY, async (key) => {
    const observations = byKey.get(key)!;
    let current = loaded.get(key);
    try {
      for (let attempt = 0; ; attempt++) {
        const folded = foldObservations(current?.state, observations, deps.settings);
        if (folded.changed) {
          const saved = await deps.windows.save(folded.state, current?.version);
          if (!saved.saved) {
            outcome.conflicts++;
            if (attempt >= retries) throw new Error(`state for ${key} kept changing under us (${attempt + 1} conflicts)`);
            current = await deps.windows.load(key);
            continue;
          }
          outcome.stateWrites++;
          outcome.writeUnits += saved.writeUnits;
        }
        const s = folded.stats;
        outcome.processed += s.folded + s.late + s.duplicate;
        outcome.late += s.late;
        outcome.duplicate += s.duplicate;
        outcome.redelivered += s.redelivered;
        outcome.windows.push(...folded.windows);
        return;
      }
    } catch (e) {
      fail(positionsOf(key), e);
    }
  });
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
