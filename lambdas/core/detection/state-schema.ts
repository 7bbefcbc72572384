/**
 * Validation of a persisted detector state (e.g. read back from DynamoDB). Anything that does not
 * match the current schema is rejected, and the series simply starts over (warm-up again) —
 * never a crash and never NaN leaking into scores.
 */
import { z } from 'zod';
import { DAY_SLOTS, WEEK_SLOTS } from './seasonal-profile.js';
import type { DetectorState } from './state.js';

const finite = z.number().refine(Number.isFinite);
const count = z.number().int().min(0);

const detectorStateSchema = z.object({
  v: z.literal(1),
  n: count,
  first: finite,
  ts: finite,
  exp: z.number().int().min(-300).max(300),
  dt: finite.refine((x) => x >= 0),
  level: finite,
  flat: finite,
  m: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  seasoned: z.union([z.literal(0), z.literal(1)]),
  ss: z.tuple([finite, finite]).optional(),
  base: finite,
  anchor: finite,
  lv: z.array(finite).max(4),
  // added after the first release: states written before it read as "nothing learned yet"
  sh: z.array(finite).max(4).default([]),
  she: z.array(finite).max(2).default([]),
  sg: count.default(0),
  ro: z
    .array(finite.refine((x) => x >= 0))
    .max(2)
    .default([0, 0]),
  sp: z.array(finite).max(4).default([]),
  dq: finite.optional(),
  dr: finite.min(0).max(1).optional(),
  de: z.array(finite).max(4).optional(),
  last: finite,
  lb: finite.optional(),
  sr: count,
  sl: z.tuple([count, count]),
  sc: count,
  hold: count,
  trend: finite,
  day: z.array(finite).length(DAY_SLOTS),
  week: z.array(finite).length(WEEK_SLOTS),
  err: z.tuple([finite, finite, finite]),
  mag: finite,
  res: z.array(finite).max(96),
  env: z.array(finite).max(16),
  epi: z.array(finite).max(8),
  envSince: finite,
  quiet: count,
  run: count,
});

/** The state if `raw` is a valid current-schema detector state, else undefined. */
export function parseDetectorState(raw: unknown): DetectorState | undefined {
  const parsed = detectorStateSchema.safeParse(raw);
  return parsed.success ? (parsed.data as DetectorState) : undefined;
}
