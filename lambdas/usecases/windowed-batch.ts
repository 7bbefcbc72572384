import { decodeInto, type DecodedBatch, type RawRecord } from '../core/batch.js';
import { compareSequence } from '../core/key-state.js';
import type { Observation, StreamPosition } from '../core/observations.js';
import {
  aggregateBytes,
  aggregateFromState,
  keysToSpill,
  WindowAggregator,
  type WindowAggregate,
} from '../core/window-aggregate.js';
import {
  carryTag,
  defersInWindow,
  foldChain,
  toCarried,
  windowIndexOf,
  type FoldLink,
  type WindowCarry,
} from '../core/window-carry.js';
import {
  detectAndSaveKeys,
  failRecorder,
  keylessEffectsThen,
  newOutcome,
  type BatchOutcome,
  type FailRecorder,
  type KeyWork,
  type StreamBatchDeps,
} from './stream-batch.js';

/** Lambda's tumbling-window fields of one invocation (lambdas/handlers/stream-consumer.ts reads them off the event). */
export interface WindowInvocation {
  /** The state the previous invocation of this window returned (`{}` at its first). */
  readonly state: unknown;
  /** `isFinalInvokeForWindow`: fold the window into the keys' items now. */
  readonly final: boolean;
  /** `isWindowTerminatedEarly`: the state hit Lambda's 1 MB limit; the window goes on with a fresh state. */
  readonly terminatedEarly: boolean;
  /** The window's shard (also taken from the records' positions when absent). */
  readonly shardId?: string;
  /** The window's start and length (from the event's `window`): which keys a carry defers. Absent: none. */
  readonly window?: { readonly startMs: number; readonly lengthMs: number };
}

export interface WindowedBatchOptions {
  /** Above this (approximate serialised bytes) the largest keys are folded into their items now. */
  readonly spillAboveBytes?: number;
  /** What the state is brought down to by a spill. */
  readonly spillToBytes?: number;
  /** The carried keys' JSON at most, in bytes (default DEFAULT_CARRY_MAX_BYTES; 0: nothing is carried). */
  readonly carryMaxBytes?: number;
}

/** Lambda's limit is 1 MB per shard; spilling well below it leaves room for the next batch. */
export const DEFAULT_SPILL_ABOVE_BYTES = 800_000;
export const DEFAULT_SPILL_TO_BYTES = 600_000;
/**
 * The carry's JSON at most, in bytes: inside DynamoDB's 400 KB item limit even if a producer's names and values
 * did not compress at all (they do ≈ 6×: 1,000 carried keys ≈ 175 KB of JSON, 27 KB stored). Keys beyond it
 * are written at once.
 */
export const DEFAULT_CARRY_MAX_BYTES = 350_000;

export interface WindowedBatchResult {
  outcome: BatchOutcome;
  /** What to return as the response's `state` (empty after the final invocation). */
  state: WindowAggregate | Record<string, never>;
  /**
   * Keys that could not be folded at the final invocation: the invocation must fail so Lambda retries it with
   * the same state (keys already saved are skipped by their positions).
   */
  finalFailed: boolean;
  /** Keys folded before the window's end because the state grew too large (written twice this window). */
  spilled: number;
}

/**
 * The consumer's job for one invocation of a tumbling window (Kinesis `TumblingWindowInSeconds`):
 * dead letters and change records as processStreamBatch does them (once per position); valid observations
 * aggregated into the window state, with no state-table read or write; at the final invocation (or an early
 * termination) every key folded into its item with foldBuckets, detected and saved once, with the same
 * conflict, side-effect and trace handling as processStreamBatch (shared code).
 *
 * @example
 * const { outcome, state, finalFailed } = await processWindowedBatch(records, {
 *   state: event.state, final: event.isFinalInvokeForWindow, terminatedEarly: event.isWindowTerminatedEarly,
 * }, deps);
 * if (finalFailed) throw new Error('final invocation failed'); // Lambda retries it with the same state
 * return { state, batchItemFailures: outcome.failed.map((f) => ({ itemIdentifier: f.position.sequenceNumber })) };
 */
export async function processWindowedBatch(
  records: readonly RawRecord[],
  invocation: WindowInvocation,
  deps: StreamBatchDeps,
  options: WindowedBatchOptions = {},
): Promise<WindowedBatchResult> {
  const outcome = newOutcome(records.length);
  const fail = failRecorder(outcome);
  const agg = aggregateFromState(invocation.state);
  if (invocation.shardId !== undefined) agg.sh ??= invocation.shardId;
  const closing = invocation.final || invocation.terminatedEarly;
  let finalFailed = false;
  let spilled = 0;
  const observations: Observation[] = [];
  const batch: DecodedBatch = { byKey: new Map(), changes: [], invalid: [] };
  decodeInto(
    records,
    deps.maxStreamChangeWindowMs !== undefined ? { maxChangeWindowMs: deps.maxStreamChangeWindowMs } : {},
    {
      observation: (ob) => observations.push(ob),
      change: (c) => batch.changes.push(c),
      invalid: (i) => batch.invalid.push(i),
    },
  );
  await keylessEffectsThen(batch, deps, outcome, fail, async () => undefined);
  // Only the records before the first failed one are aggregated: Lambda resumes there, so the window's state
  // needs no more than its last position to recognise what it already holds.
  const firstFailed = outcome.failed.reduce<string | undefined>(
    (low, f) =>
      low === undefined || compareSequence(f.position.sequenceNumber, low) < 0 ? f.position.sequenceNumber : low,
    undefined,
  );
  const aggregator = new WindowAggregator(agg, deps.settings);
  for (const ob of observations) {
    if (firstFailed !== undefined && ob.position && compareSequence(ob.position.sequenceNumber, firstFailed) >= 0)
      break;
    aggregator.add(ob);
  }
  const stats = aggregator.finish();
  outcome.redelivered += stats.redelivered;
  if (closing) finalFailed = !(await closeWindow(agg, invocation, deps, outcome, options));
  else if (!outcome.failed.length) {
    // Spill only from a clean invocation: a retry (with the previous state) must not fold a key twice.
    const spill =
      stateBytes(agg, options.spillAboveBytes ?? DEFAULT_SPILL_ABOVE_BYTES) >
      (options.spillAboveBytes ?? DEFAULT_SPILL_ABOVE_BYTES)
        ? keysToSpill(agg, options.spillToBytes ?? DEFAULT_SPILL_TO_BYTES)
        : [];
    if (spill.length) {
      const spillOutcome = newOutcome(0);
      const fail = failRecorder(spillOutcome);
      // A spilled key's carried window goes first: it is older than anything this window holds.
      const carried = await loadCarried(agg.sh ?? 'unknown', deps, fail, spill);
      if (carried) await detectAndSaveKeys(workOf(agg, spill, deps, carried.links), deps, spillOutcome, fail);
      const failedKeys = new Set(spillOutcome.failed.map((f) => f.position.sequenceNumber));
      for (const key of spill) {
        // A key whose save failed stays in the state (folded at the window's end).
        if (failedKeys.has(spillMarker(key))) continue;
        delete agg.k[key];
        spilled++;
      }
      const { failed: _failed, ...rest } = spillOutcome;
      mergeCounts(outcome, rest);
    }
  }
  if (closing && outcome.failed.length) finalFailed = true;
  if (finalFailed) {
    // A key's marker names no record of this invocation: not something to report as a batch item failure.
    outcome.failed = outcome.failed.filter((f) => !isKeyMarker(f.position.sequenceNumber));
  }
  return { outcome, state: closing ? {} : agg, finalFailed, spilled };
}

/**
 * The state's serialised size: the cheap estimate (an upper bound) when it is within `bound`, otherwise the
 * exact JSON length (≈ 1 ms for 700 KB; Lambda serialises the response anyway).
 */
function stateBytes(agg: WindowAggregate, bound: number): number {
  const estimate = aggregateBytes(agg);
  return estimate <= bound ? estimate : JSON.stringify(agg).length;
}

/**
 * The final invocation (or an early termination): every key of the window, and every key the shard's previous
 * window (or, on a new shard, its parents' last windows) carried, folded, detected and saved — except the quiet
 * keys whose turn it is to wait, which go to this window's carry. Returns false when the invocation must fail
 * (Lambda retries it with the same state).
 */
async function closeWindow(
  agg: WindowAggregate,
  invocation: WindowInvocation,
  deps: StreamBatchDeps,
  outcome: BatchOutcome,
  options: WindowedBatchOptions,
): Promise<boolean> {
  const fail = failRecorder(outcome);
  const shardId = agg.sh ?? 'unknown';
  const keys = Object.keys(agg.k);
  const window = invocation.window;
  if (!deps.carry || !window) {
    await detectAndSaveKeys(workOf(agg, keys, deps), deps, outcome, fail);
    return outcome.failed.length === 0;
  }
  const tag = carryTag(window.startMs, agg.o);
  const carried = await loadCarried(shardId, deps, fail, keys);
  if (!carried) return false;
  // This segment's carry is already saved: an earlier attempt wrote every key before saving it.
  if (carried.previous?.tag === tag) return true;
  const index = windowIndexOf(window.startMs, window.lengthMs);
  let budget = options.carryMaxBytes ?? DEFAULT_CARRY_MAX_BYTES;
  const deferrable = (key: string) => {
    if (carried.links.has(key) || !defersInWindow(key, index)) return false;
    const bytes = Buffer.byteLength(key) + Buffer.byteLength(JSON.stringify(toCarried(agg.k[key]!))) + 4;
    if (bytes > budget) return false;
    budget -= bytes;
    return true;
  };
  const all = new Set([...keys, ...carried.links.keys()]);
  const work = workOf(agg, [...all], deps, carried.links, deferrable);
  const deferred = await detectAndSaveKeys(work, deps, outcome, fail);
  if (outcome.failed.length) return false;
  const carry: WindowCarry = { v: 1, sh: shardId, tag, at: window.startMs, k: {} };
  if (agg.p !== undefined) carry.p = agg.p;
  for (const key of deferred) carry.k[key] = toCarried(agg.k[key]!);
  try {
    const { writeUnits } = await deps.carry.store.save(carry);
    outcome.writeUnits += writeUnits;
    outcome.stateWrites++;
  } catch (e) {
    fail([{ shardId, sequenceNumber: spillMarker(`carry#${shardId}`) }], e);
    return false;
  }
  // The parents' carries are folded now; a failed removal leaves them to expire (a second fold is skipped by
  // the items' positions).
  for (const parent of carried.parents) await deps.carry.store.remove(parent.sh, parent.tag).catch(() => undefined);
  return true;
}

interface Carried {
  /** The shard's own carry from its previous window. */
  previous?: WindowCarry;
  /** The parents' carries, when the shard has none of its own yet (its first window after a reshard). */
  parents: WindowCarry[];
  /** Per carried key, its carried windows in the order they are folded (parents first). */
  links: Map<string, FoldLink[]>;
}

/** The carries to fold before this window; undefined (with `keys` failed) when they could not be read. */
async function loadCarried(
  shardId: string,
  deps: StreamBatchDeps,
  fail: FailRecorder,
  keys: readonly string[],
): Promise<Carried | undefined> {
  const links = new Map<string, FoldLink[]>();
  if (!deps.carry) return { parents: [], links };
  const { store, lineage } = deps.carry;
  try {
    const previous = await store.load(shardId);
    const parents: WindowCarry[] = [];
    if (!previous && lineage)
      for (const id of await lineage.parentsOf(shardId)) {
        const c = await store.load(id);
        if (c) parents.push(c);
      }
    for (const c of [...parents, ...(previous ? [previous] : [])])
      for (const [key, ka] of Object.entries(c.k)) {
        const link: FoldLink = { agg: ka, shardId: c.sh, position: c.p, counted: false };
        links.set(key, [...(links.get(key) ?? []), link]);
      }
    return { ...(previous && { previous }), parents, links };
  } catch (e) {
    fail(
      keys.map((key) => ({ shardId, sequenceNumber: spillMarker(key) })),
      e,
    );
    return undefined;
  }
}

/** Every key of the aggregate (and its carried windows) as work for the shared fold-detect-save path. */
function workOf(
  agg: WindowAggregate,
  keys: readonly string[],
  deps: StreamBatchDeps,
  carried: ReadonlyMap<string, readonly FoldLink[]> = new Map(),
  deferrable: (key: string) => boolean = () => false,
): Map<string, KeyWork> {
  const shardId = agg.sh ?? 'unknown';
  const work = new Map<string, KeyWork>();
  for (const key of keys) {
    const ka = agg.k[key];
    const links: FoldLink[] = [...(carried.get(key) ?? [])];
    if (ka) links.push({ agg: ka, shardId, position: agg.p, counted: true });
    // A failed key is reported by a marker position: the window's records are not in this invocation.
    const positions: StreamPosition[] = [{ shardId, sequenceNumber: spillMarker(key) }];
    work.set(key, {
      fold: (prev) => foldChain(prev, key, links, deps.settings),
      positions,
      ...(ka && deferrable(key) && { deferrable: true }),
    });
  }
  return work;
}

/** Marks a key's (or the carry's) failure in `failed` (never a real sequence number: those are digits). */
function spillMarker(key: string): string {
  return `key:${key}`;
}

function isKeyMarker(sequenceNumber: string): boolean {
  return sequenceNumber.startsWith('key:');
}

function mergeCounts(into: BatchOutcome, add: Omit<BatchOutcome, 'failed'>): void {
  for (const [k, v] of Object.entries(add)) {
    const key = k as keyof BatchOutcome;
    if (typeof v === 'number' && key !== 'received') (into[key] as number) += v;
    else if (Array.isArray(v)) (into[key] as unknown[]).push(...v);
  }
}
