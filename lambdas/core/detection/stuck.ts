/**
 * Stuck values (flat-lining): a run of identical values longer than any run this series has
 * had recently. "Identical" is exact equality after rounding to the stored digits, so it is
 * meaningful for gauges that stop updating, counters stuck at zero, and quantised series alike:
 * the longest completed run is remembered (in the envelope's two time buckets; at a rotation a share
 * of the older bucket's excess is carried, as for the envelope), and only a run clearly longer than it
 * counts. A series that has never changed (constant from the start) is
 * never "stuck": it must have changed value `minChanges` times first.
 */

import { fadeToward } from './numeric.js';

export interface StuckMemory {
  /** Latest value (rounded), in the series' units. */
  readonly last: number;
  /** Length of the current run of identical values, points (≥ 1). */
  readonly run: number;
  /** Longest completed run in the current and the previous bucket. */
  readonly longest: readonly [number, number];
  /** Value changes seen (capped at `minChanges`). */
  readonly changes: number;
}

export interface StuckReading {
  /** Current run over the threshold (≥ 1: beyond every run remembered; 0 while unarmed). */
  readonly ratio: number;
  readonly memory: StuckMemory;
}

/** Runs must be this much longer than the longest one remembered ... */
const LONGER = 1.2;
/** ... plus this many points ... */
const EXTRA = 3;
/** ... and the longest one counts as at least this long (series that never repeat a value). */
const MIN_LONGEST = 5;
/** Value changes before a run can count as stuck. */
const MIN_CHANGES = 30;

export function stuckThreshold(longest: readonly [number, number]): number {
  return Math.ceil(LONGER * Math.max(longest[0], longest[1], MIN_LONGEST) + EXTRA);
}

/** Reads and updates the run memory for a point whose rounded value is `v` (`carry`: see above). */
export function readStuck(prev: StuckMemory, v: number, rotate: boolean, carry = 0): StuckReading {
  const same = v === prev.last;
  const run = same ? prev.run + 1 : 1;
  let longest: [number, number] = [prev.longest[0], prev.longest[1]];
  if (rotate) longest = [0, fadeToward(longest[0], longest[1], carry, 1, Math.round)];
  if (!same) longest[0] = Math.max(longest[0], prev.run);
  const armed = prev.changes >= MIN_CHANGES;
  const thr = stuckThreshold(longest);
  const memory = { last: v, run, longest, changes: same ? prev.changes : Math.min(prev.changes + 1, MIN_CHANGES) };
  return { ratio: armed ? run / thr : 0, memory };
}
