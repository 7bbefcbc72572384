/**
 * Labelled anomaly-family suite: the generalisation check for the streaming detector
 * (lambdas/core/detection). Deterministic (seeded): base shapes with random parameters, each
 * with one injected anomaly family (or none), written as NAB-format CSVs (`timestamp,value`) and
 * a NAB `windows.json` into a directory at run time, so the detector can be scored with the same
 * NAB rule as the dev set (`nabscore.py`), and per family / per base shape with recall and false
 * alarms per day at the production threshold (what pages).
 *
 *   npx tsx bench/detection-families.ts [--seeds 3] [--out DIR]   (see that file)
 *
 * Nothing generated here is committed: the suite is regenerated from the seed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BadDirection } from '../../lambdas/core/signals.js';
import {
  incidentView,
  scorePoint,
  type DetectorSettings,
  type DetectorState,
} from '../../lambdas/core/detection/index.js';
import { gaussian, seededRandom } from '../../local/random.js';

export const SHAPES = ['diurnal', 'bursty', 'walk', 'sparse', 'steps', 'constant'] as const;
export type Shape = (typeof SHAPES)[number];

export const FAMILIES = [
  'none',
  'shift_up',
  'shift_down',
  'spike',
  'dip',
  'variance',
  'density',
  'stuck',
  'drift',
  'season_break',
  'period_change',
  'repeat',
] as const;
export type Family = (typeof FAMILIES)[number];

/** Families that only make sense on some shapes (a seasonality break needs a season). */
const APPLIES: Partial<Record<Family, readonly Shape[]>> = {
  season_break: ['diurnal', 'bursty'],
  period_change: ['diurnal', 'bursty'],
  // a flatline inside a series that is flat anyway (or zero most of the time) is not an anomaly
  stuck: ['diurnal', 'bursty', 'walk', 'steps'],
  dip: ['diurnal', 'bursty', 'walk', 'steps', 'constant'],
};

export function applies(shape: Shape, family: Family): boolean {
  const only = APPLIES[family];
  return !only || only.includes(shape);
}

export interface SuiteSeries {
  /** Relative path, `<shape>/<family>_<seed>_<spacing>m.csv`. */
  readonly name: string;
  readonly shape: Shape;
  readonly family: Family;
  readonly spacingMin: number;
  readonly ts: readonly number[];
  readonly values: readonly number[];
  /** Index of each injected anomaly's onset. */
  readonly onsets: readonly number[];
  /** Labelled windows [from, to] as point indices (inclusive), NAB-sized. */
  readonly windows: readonly (readonly [number, number])[];
}

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 1);

/** Spacing (minutes) and length (points) mix: mostly 5-minute like NAB, some 1-minute, 30-minute and hourly. */
const SPACINGS: readonly (readonly [number, number])[] = [
  [5, 4032],
  [5, 4032],
  [1, 7200],
  [30, 2000],
  [60, 1500],
];

interface Rng {
  u(): number;
  between(a: number, b: number): number;
  int(a: number, b: number): number;
  normal(): number;
  poisson(lambda: number): number;
  /** Gamma(shape, 1) for shape ≥ 1 (Marsaglia–Tsang). */
  gamma(shape: number): number;
  pick<T>(xs: readonly T[]): T;
}

function makeRng(seed: number): Rng {
  const r = seededRandom(seed);
  const normal = gaussian(r);
  return {
    u: r,
    between: (a, b) => a + (b - a) * r(),
    int: (a, b) => a + Math.floor((b - a + 1) * r()),
    normal,
    poisson(lambda) {
      if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal()));
      const l = Math.exp(-lambda);
      let k = 0;
      let p = 1;
      do {
        k++;
        p *= r();
      } while (p > l);
      return k - 1;
    },
    gamma(shape) {
      const d = shape - 1 / 3;
      const c = 1 / Math.sqrt(9 * d);
      for (;;) {
        const x = normal();
        const v = (1 + c * x) ** 3;
        if (v > 0 && Math.log(1 - r()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
      }
    },
    pick: (xs) => xs[Math.floor(r() * xs.length)] as never,
  };
}

/**
 * A base shape as a generator of the "clean" signal (seasonal / level part) and the noise
 * around it, so that families can act on either (a flatline freezes the value, a variance
 * change scales the noise, a seasonality break edits the season).
 */
interface Base {
  /**
   * Level + season at index i (no noise), with `season` scaling the seasonal part and `period` its length (minutes).
   */
  clean(i: number, season: number, periodMin: number, phaseMin: number): number;
  /** One noisy observation around `clean`, with the noise scaled by `noiseK` and burst rate by `burstK`. */
  observe(clean: number, noiseK: number, burstK: number): number;
  /** Values never go below this (counts, utilisation). */
  readonly min: number;
  readonly max: number;
  /** Round observations to this step (0: none). */
  readonly quantum: number;
}

function makeBase(shape: Shape, r: Rng, n: number, spacingMin: number, weekShape = false): Base {
  const L = 10 ** r.between(-1, 4);
  const tMin = (i: number) => i * spacingMin;
  const daily = (i: number, periodMin: number, phaseMin: number) => {
    const x = (2 * Math.PI * (tMin(i) + phaseMin)) / periodMin;
    return Math.sin(x) + 0.35 * Math.sin(2 * x + 1);
  };
  const weekend = (i: number) => (Math.floor(tMin(i) / 1440) % 7 >= 5 ? 1 : 0);
  switch (shape) {
    case 'diurnal': {
      const amp = r.between(0.15, 0.6) * L;
      const noise = r.between(0.02, 0.1) * L;
      const wk = r.u() < 0.5 ? r.between(0.1, 0.4) : 0;
      return {
        clean: (i, season, period, phase) =>
          L +
          season *
            amp *
            (weekShape && wk > 0 && weekend(i) === 1
              ? 0.45 * daily(i, period, phase - 180) - wk
              : daily(i, period, phase) - wk * weekend(i)),
        observe: (c, nk) => c + nk * noise * r.normal(),
        min: 0,
        max: Infinity,
        quantum: 0,
      };
    }
    case 'bursty': {
      // counts (tweets, requests) with a daily rhythm and frequent short bursts; over-dispersed like
      // real counts (a gamma-mixed Poisson, i.e. negative binomial: variance = mean + mean² / shape)
      const lambda = r.between(3, 80);
      const amp = r.between(0.2, 0.6);
      const burstRate = r.between(0.002, 0.02);
      const burstSize = r.between(2, 5);
      const dispersion = r.between(2, 20);
      return {
        clean: (i, season, period, phase) => lambda * Math.max(0.05, 1 + season * amp * daily(i, period, phase)),
        observe: (c, nk, bk) => {
          const burst = r.u() < burstRate * bk ? c * burstSize * r.between(0.5, 1.5) : 0;
          const mean = c + burst;
          const mixed = (mean * r.gamma(dispersion)) / dispersion;
          return nk === 1 ? r.poisson(mixed) : Math.max(0, Math.round(mixed + nk * Math.sqrt(mixed) * r.normal()));
        },
        min: 0,
        max: Infinity,
        quantum: 1,
      };
    }
    case 'walk': {
      // mean-reverting random walk (AR(1), phi close to 1) + measurement noise
      const phi = 1 - r.between(0.001, 0.01);
      const step = r.between(0.005, 0.03) * L;
      const noise = r.between(0.2, 1) * step;
      const walk = new Float64Array(n);
      let x = 0;
      for (let i = 0; i < n; i++) {
        x = phi * x + step * r.normal();
        walk[i] = x;
      }
      return {
        clean: (i) => L + (walk[i] as number),
        observe: (c, nk) => c + nk * noise * r.normal(),
        min: -Infinity,
        max: Infinity,
        quantum: 0,
      };
    }
    case 'sparse': {
      // mostly zero, occasional activity of log-normal size (disk writes, errors)
      const p = r.between(0.03, 0.3);
      const size = L;
      const sd = r.between(0.3, 1);
      return {
        clean: (_i, season) => season,
        observe: (_c, nk, bk) => (r.u() < Math.min(1, p * bk) ? size * Math.exp(sd * nk * r.normal()) : 0),
        min: 0,
        max: Infinity,
        quantum: 0,
      };
    }
    case 'steps': {
      // utilisation switching between a few levels (autoscaling group CPU, %)
      const levels = Array.from({ length: r.int(2, 4) }, () => r.between(5, 80));
      const meanHold = r.between(30, 300); // minutes
      const noise = r.between(0.3, 2);
      const lvl = new Float64Array(n);
      let cur = levels[0] as number;
      for (let i = 0; i < n; i++) {
        if (r.u() < spacingMin / meanHold) cur = r.pick(levels);
        lvl[i] = cur;
      }
      return {
        clean: (i) => lvl[i] as number,
        observe: (c, nk) => c + nk * noise * r.normal(),
        min: 0,
        max: 100,
        quantum: 0.01,
      };
    }
    case 'constant': {
      // near-constant, quantised, with rare one-point jumps that are normal for the series
      const q = L / 100;
      const jumpRate = r.between(0.001, 0.005);
      return {
        clean: () => L,
        observe: (c, nk) =>
          c +
          (r.u() < 0.2 * nk ? q * r.pick([-1, 1]) : 0) +
          (r.u() < jumpRate ? L * r.between(0.05, 0.3) * r.pick([-1, 1]) : 0),
        min: 0,
        max: Infinity,
        quantum: q,
      };
    }
  }
}

/** Robust spread of the clean+noise series before `to`: point noise (from differences) and the q01..q99 range. */
function spreadOf(xs: readonly number[], to: number): { noise: number; range: number; median: number; maxDev: number } {
  const a = xs.slice(Math.floor(to * 0.15), to).sort((x, y) => x - y);
  const q = (p: number) => a[Math.min(a.length - 1, Math.floor(p * a.length))] as number;
  const d = [];
  for (let i = Math.floor(to * 0.15) + 1; i < to; i++) d.push(Math.abs((xs[i] as number) - (xs[i - 1] as number)));
  d.sort((x, y) => x - y);
  const mad = (d[d.length >> 1] as number) / 0.6745 / Math.SQRT2;
  const median = q(0.5);
  return {
    noise: mad,
    range: q(0.99) - q(0.01),
    median,
    maxDev: Math.max(median - (a[0] as number), (a[a.length - 1] as number) - median),
  };
}

/** One labelled series. */
/** Where series are cut and their anomalies placed (the default: SPACINGS, onsets at 50–80 % of the series). */
export interface SeriesLayout {
  readonly spacings: readonly (readonly [number, number])[];
  readonly onsetFrom: number;
  readonly onsetTo: number;
  /**
   * Chance per point that the data stops for 1–60 intervals (collector restarts, missing exports:
   * NAB's traffic files have such gaps); the anomaly's first three points are always kept. 0: none.
   */
  readonly gaps?: number;
  /**
   * Weekends change the shape of the day, besides lowering it: a swing under half as large, peaking
   * three hours later (weekday × hour interaction, as in taxi, traffic and business data). Only for the
   * diurnal series that have a weekly pattern; the default suite's weekends are an additive offset.
   */
  readonly weekShape?: boolean;
}

export const DEFAULT_LAYOUT: SeriesLayout = { spacings: SPACINGS, onsetFrom: 0.5, onsetTo: 0.8 };

/**
 * Young series: 5-minute data of 4 to 10 days (1,200–2,800 points, like NAB's traffic and several
 * known-cause files), anomalies from 25 % of the series on: detection before the history is mature.
 */
export const YOUNG_LAYOUT: SeriesLayout = {
  spacings: [
    [5, 1200],
    [5, 2000],
    [5, 2800],
  ],
  onsetFrom: 0.25,
  onsetTo: 0.8,
};

/**
 * Long series: 5-minute data of 8 to 11 weeks, 30-minute data of 7 months and hourly data of
 * 10 months (like NAB's tweet, machine-temperature, taxi and ambient-temperature files), anomalies
 * in the second half: the envelope has forgotten its oldest extremes several times before them.
 */
export const LONG_LAYOUT: SeriesLayout = {
  spacings: [
    [5, 16000],
    [5, 22000],
    [30, 10000],
    [60, 7200],
  ],
  onsetFrom: 0.5,
  onsetTo: 0.9,
};

export function generateSeries(
  shape: Shape,
  family: Family,
  seed: number,
  layout: SeriesLayout = DEFAULT_LAYOUT,
): SuiteSeries {
  const r = makeRng(seed * 7919 + SHAPES.indexOf(shape) * 131 + FAMILIES.indexOf(family) * 17);
  const [spacingMin, n] = r.pick(layout.spacings);
  const base = makeBase(shape, r, n, spacingMin, layout.weekShape);
  const perDay = 1440 / spacingMin;
  // Onset in the second half (after NAB's 15 % probation and enough history to learn from).
  const onset = Math.floor(n * r.between(layout.onsetFrom, layout.onsetTo));
  const repeatGap = Math.max(3, Math.round(perDay * r.between(0.3, 0.8)));
  const onsets = family === 'none' ? [] : family === 'repeat' ? [onset, onset + repeatGap] : [onset];

  // The un-injected series, to size the anomaly against what the series does.
  const raw = Array.from({ length: n }, (_, i) => base.clean(i, 1, 1440, 0));
  const plain = raw.map((c) => base.observe(c, 1, 1));
  const sp = spreadOf(plain, onset);
  const noise = Math.max(sp.noise, sp.range / 20, 1e-9);
  const range = Math.max(sp.range, 4 * noise);
  const sign =
    family === 'shift_down' || family === 'dip'
      ? -1
      : family === 'shift_up' || family === 'spike'
        ? 1
        : r.pick([-1, 1]);

  // Family parameters.
  const holdPts = Math.max(6, Math.round((r.between(2, 12) * 60) / spacingMin)); // stuck / variance: 2–12 h
  const driftPts = Math.max(6, Math.round((r.between(6, 36) * 60) / spacingMin)); // ramp over 6–36 h
  const shiftSize = Math.max(r.between(0.4, 1.0) * range, 6 * noise);
  // spikes reach about as far as the series' largest excursion so far (0.7–1.5 ×): some stay inside its range
  const spikeSize = Math.max(r.between(0.7, 1.5) * sp.maxDev, 10 * noise);
  const varK = r.between(3, 6);
  const densityK = r.between(4, 10);
  const newPeriod = r.pick([720, 480, 2880]);
  const phaseJump = r.between(4, 10) * 60;
  const repeatKind = r.pick(['spike', 'shift'] as const);

  const values = new Array<number>(n);
  let stuckAt = 0;
  for (let i = 0; i < n; i++) {
    let season = 1;
    let period = 1440;
    let phase = 0;
    let noiseK = 1;
    let burstK = 1;
    let add = 0;
    const after = onsets.length > 0 && i >= onset;
    if (after) {
      const k = i - onset;
      switch (family) {
        case 'shift_up':
        case 'shift_down':
          add = sign * shiftSize * Math.min(1, (k + 1) / 2); // in over two points (the 10-minute creep at 5 minutes)
          break;
        case 'drift':
          add = sign * 1.2 * shiftSize * Math.min(1, (k + 1) / driftPts);
          break;
        case 'variance':
          if (k < holdPts) noiseK = varK;
          break;
        case 'density':
          // gradual: the burst / activity rate climbs over a few hours, then stays up
          burstK = 1 + (densityK - 1) * Math.min(1, (k + 1) / Math.max(3, holdPts / 2));
          if (shape !== 'bursty' && shape !== 'sparse' && r.u() < 0.03 * Math.min(1, k / Math.max(3, holdPts / 2)))
            add = sign * spikeSize * r.between(0.5, 1);
          break;
        case 'season_break':
          if (k < perDay) season = r.between(-0.1, 0.2) + 0; // a missing day of the rhythm
          break;
        case 'period_change':
          if (newPeriod === 2880) phase = phaseJump;
          else period = newPeriod;
          break;
        default:
          break;
      }
    }
    let v = base.observe(base.clean(i, season, period, phase), noiseK, burstK) + add;
    if (family === 'spike' || family === 'dip') {
      if (i === onset) v = base.clean(i, 1, 1440, 0) + sign * spikeSize;
    }
    if (family === 'repeat') {
      for (const o of onsets) {
        if (repeatKind === 'spike' && i >= o && i < o + 2) v = base.clean(i, 1, 1440, 0) + sign * spikeSize;
        if (repeatKind === 'shift' && i >= o && i < o + Math.max(3, Math.round(120 / spacingMin)))
          v += sign * shiftSize;
      }
    }
    if (family === 'stuck' && after && i - onset < holdPts) {
      if (i === onset) stuckAt = values[i - 1] as number;
      v = stuckAt;
    }
    if (base.quantum > 0 && !(family === 'stuck' && after && i - onset < holdPts))
      v = Math.round(v / base.quantum) * base.quantum;
    values[i] = roundTo(Math.min(base.max, Math.max(base.min, v)));
  }
  const ts = Array.from({ length: n }, (_, i) => T0 + i * spacingMin * MIN);
  const series: SuiteSeries = {
    name: `${shape}/${family}_${seed}_${spacingMin}m.csv`,
    shape,
    family,
    spacingMin,
    ts,
    values,
    onsets,
    windows: nabWindows(n, onsets),
  };
  return layout.gaps ? withGaps(series, layout.gaps, r) : series;
}

/** The series with runs of points missing; windows keep their time span (over the points left). */
function withGaps(s: SuiteSeries, chance: number, r: Rng): SuiteSeries {
  const kept = new Set<number>(s.onsets.flatMap((o) => [o, o + 1, o + 2]));
  const keep: number[] = [];
  for (let i = 0, skip = 0; i < s.values.length; i++) {
    if (skip > 0 && !kept.has(i)) {
      skip--;
      continue;
    }
    skip = r.u() < chance ? r.int(1, 60) : 0;
    keep.push(i);
  }
  const at = (i: number) => keep.findIndex((k) => k >= i);
  return {
    ...s,
    ts: keep.map((i) => s.ts[i] as number),
    values: keep.map((i) => s.values[i] as number),
    onsets: s.onsets.map(at),
    windows: s.windows.map(([a, b]) => [at(a), at(b + 1) < 0 ? keep.length - 1 : at(b + 1) - 1] as const),
  };
}

function roundTo(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(6));
}

/**
 * NAB's labelling: windows of 10 % of the file's length divided among its anomalies, centred on
 * each one (here: on its onset), clipped so windows do not overlap.
 */
function nabWindows(n: number, onsets: readonly number[]): [number, number][] {
  if (onsets.length === 0) return [];
  const half = Math.floor((0.1 * n) / onsets.length / 2);
  return onsets.map((o, j) => {
    const prev = onsets[j - 1];
    const next = onsets[j + 1];
    const from = Math.max(0, o - half, prev !== undefined ? Math.ceil((prev + o) / 2) : 0);
    const to = Math.min(n - 1, o + half, next !== undefined ? Math.floor((o + next) / 2) - 1 : n - 1);
    return [from, to];
  });
}

export interface SuiteOptions {
  /** Seeds per (shape, family) pair; default 3. */
  readonly seeds?: number;
  /** First seed; default 1. */
  readonly seed0?: number;
  readonly shapes?: readonly Shape[];
  readonly families?: readonly Family[];
  readonly layout?: SeriesLayout;
}

export function generateSuite(o: SuiteOptions = {}): SuiteSeries[] {
  const out: SuiteSeries[] = [];
  const seeds = o.seeds ?? 3;
  const seed0 = o.seed0 ?? 1;
  for (const shape of o.shapes ?? SHAPES)
    for (const family of o.families ?? FAMILIES) {
      if (!applies(shape, family)) continue;
      for (let s = seed0; s < seed0 + seeds; s++) out.push(generateSeries(shape, family, s, o.layout));
    }
  return out;
}

const iso = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 19);

/** Writes `data/<shape>/<file>.csv` and `windows.json` (NAB format) under `dir`. */
export async function writeSuite(
  dir: string,
  suite: readonly SuiteSeries[],
): Promise<{ data: string; labels: string }> {
  const data = join(dir, 'data');
  const labels: Record<string, string[][]> = {};
  for (const s of suite) {
    const file = join(data, s.name);
    await mkdir(join(file, '..'), { recursive: true });
    const lines = ['timestamp,value'];
    for (let i = 0; i < s.values.length; i++) lines.push(`${iso(s.ts[i] as number)},${s.values[i]}`);
    await writeFile(file, lines.join('\n') + '\n');
    labels[s.name] = s.windows.map(([a, b]) => [
      `${iso(s.ts[a] as number)}.000000`,
      `${iso(s.ts[b] as number)}.000000`,
    ]);
  }
  const labelsFile = join(dir, 'windows.json');
  await writeFile(labelsFile, JSON.stringify(labels, null, 1));
  return { data, labels: labelsFile };
}

export interface SeriesResult {
  readonly series: SuiteSeries;
  readonly scores: Float64Array;
  readonly alerts: Uint8Array;
  /** Windows with an alert inside. */
  readonly found: number;
  /** Alerts outside windows after NAB's 15 % probation. */
  readonly falseAlerts: number;
  /** Days of event time scored for false alerts (after probation). */
  readonly days: number;
  /** Largest serialised state (bytes). */
  readonly maxStateBytes: number;
  /** Why it paged (alert kinds), counted. */
  readonly kinds: Record<string, number>;
}

/** Replays one series through the detector ('both' directions, as for NAB files). */
export function scoreSeries(
  s: SuiteSeries,
  settings?: Partial<DetectorSettings>,
  direction: BadDirection = 'both',
  measureState = false,
): SeriesResult {
  const n = s.values.length;
  const scores = new Float64Array(n);
  const alerts = new Uint8Array(n);
  let state: DetectorState | undefined;
  let maxStateBytes = 0;
  const kinds: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = scorePoint(state, { ts: s.ts[i] as number, value: s.values[i] as number }, direction, settings);
    const reported = incidentView(state, r);
    state = r.state;
    scores[i] = reported.score;
    if (reported.alert) {
      alerts[i] = 1;
      const k = (r as { kind?: string }).kind ?? 'alert';
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
    if (measureState && (i % 97 === 0 || i === n - 1))
      maxStateBytes = Math.max(maxStateBytes, JSON.stringify(state).length);
  }
  const probation = Math.floor(0.15 * n);
  let found = 0;
  for (const [a, b] of s.windows) {
    for (let i = a; i <= b; i++)
      if (alerts[i]) {
        found++;
        break;
      }
  }
  let falseAlerts = 0;
  for (let i = probation; i < n; i++) if (alerts[i] && !s.windows.some(([a, b]) => i >= a && i <= b)) falseAlerts++;
  const days = ((s.ts[n - 1] as number) - (s.ts[probation] as number)) / (1440 * MIN);
  return { series: s, scores, alerts, found, falseAlerts, days, maxStateBytes, kinds };
}

export interface GroupFigures {
  readonly series: number;
  readonly windows: number;
  readonly found: number;
  readonly recall: number;
  readonly falseAlerts: number;
  readonly days: number;
  readonly faPerDay: number;
}

export function summarise(
  results: readonly SeriesResult[],
  by: (r: SeriesResult) => string,
): Map<string, GroupFigures> {
  const acc = new Map<string, { series: number; windows: number; found: number; falseAlerts: number; days: number }>();
  for (const r of results) {
    const k = by(r);
    const a = acc.get(k) ?? { series: 0, windows: 0, found: 0, falseAlerts: 0, days: 0 };
    a.series++;
    a.windows += r.series.windows.length;
    a.found += r.found;
    a.falseAlerts += r.falseAlerts;
    a.days += r.days;
    acc.set(k, a);
  }
  const out = new Map<string, GroupFigures>();
  for (const [k, a] of acc)
    out.set(k, {
      ...a,
      recall: a.windows ? a.found / a.windows : Number.NaN,
      faPerDay: a.days ? a.falseAlerts / a.days : 0,
    });
  return out;
}

const CSV_HEADER = 'timestamp,value,anomaly_score,alert';

/** Writes replay results in the layout nabscore.py reads (same relative paths as the data). */
export async function writeResults(dir: string, results: readonly SeriesResult[]): Promise<void> {
  for (const r of results) {
    const file = join(dir, r.series.name);
    await mkdir(join(file, '..'), { recursive: true });
    const lines = [CSV_HEADER];
    for (let i = 0; i < r.scores.length; i++) {
      const sc = r.scores[i] as number;
      lines.push(
        `${iso(r.series.ts[i] as number)},${r.series.values[i]},${sc === 0 ? '0' : sc.toFixed(6)},${r.alerts[i]}`,
      );
    }
    await writeFile(file, lines.join('\n') + '\n');
  }
}

export function formatFigures(title: string, groups: Map<string, GroupFigures>): string {
  const rows = [...groups.entries()].map(
    ([k, g]) =>
      `${k.padEnd(14)} ${String(g.series).padStart(4)} ${`${g.found}/${g.windows}`.padStart(8)} ` +
      `${(Number.isNaN(g.recall) ? '   -' : g.recall.toFixed(2)).padStart(6)} ${String(g.falseAlerts).padStart(5)} ` +
      `${g.faPerDay.toFixed(3).padStart(7)}`,
  );
  return [
    `${title.padEnd(14)} ${'n'.padStart(4)} ${'found'.padStart(8)} ${'recall'.padStart(6)} ${'FA'.padStart(5)} ` +
      `${'FA/day'.padStart(7)}`,
    ...rows,
  ].join('\n');
}
