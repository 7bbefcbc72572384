/**
 * Detection generalisation bench: the labelled anomaly-family suite (bench/quality/families.ts)
 * replayed through the detector, per family and per base shape (recall and false alarms per day
 * at the production threshold), and scored with the NAB rule when ../shared/tools/nabscore.py is
 * there.
 *
 *   npx tsx bench/detection-families.ts [--seeds 3] [--seed0 1] [--out DIR] [--settings '{"k":v}'] [--json]
 *     [--young | --long] [--gaps] [--week-shape]
 *
 * --young: 5-minute series of 4–10 days with early anomalies; --long: 8 weeks to 10 months of data;
 * --gaps: runs of 1–60 points missing (a run starts at 1 % of points).
 * --week-shape: weekends of the weekly diurnal series change the day's shape (a smaller, later swing) too.
 *
 * The suite is generated into a temporary directory (or --out) and not kept otherwise.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DetectorSettings } from '../lambdas/core/detection/index.js';
import {
  formatFigures,
  generateSuite,
  scoreSeries,
  summarise,
  writeResults,
  writeSuite,
  DEFAULT_LAYOUT,
  LONG_LAYOUT,
  YOUNG_LAYOUT,
  type SeriesLayout,
  type SeriesResult,
} from './quality/families.js';

export interface FamiliesBench {
  readonly results: readonly SeriesResult[];
  readonly points: number;
  readonly ms: number;
  readonly maxStateBytes: number;
  readonly nab?: { readonly standard: number; readonly fixed: number; readonly text: string };
}

const NABSCORE = new URL('../../shared/tools/nabscore.py', import.meta.url).pathname;

export async function benchDetectionFamilies(
  o: {
    seeds?: number;
    seed0?: number;
    out?: string;
    settings?: Partial<DetectorSettings>;
    nab?: boolean;
    layout?: SeriesLayout;
  } = {},
): Promise<FamiliesBench> {
  const suite = generateSuite({ seeds: o.seeds ?? 3, seed0: o.seed0 ?? 1, ...(o.layout && { layout: o.layout }) });
  const started = performance.now();
  const results = suite.map((s) => scoreSeries(s, o.settings, 'both', true));
  const ms = performance.now() - started;
  const points = suite.reduce((a, s) => a + s.values.length, 0);
  const maxStateBytes = Math.max(...results.map((r) => r.maxStateBytes));
  let nab: FamiliesBench['nab'];
  if (o.nab !== false && existsSync(NABSCORE)) {
    const dir = o.out ?? (await mkdtemp(join(tmpdir(), 'ag-families-')));
    try {
      const { data, labels } = await writeSuite(dir, suite);
      await writeResults(join(dir, 'results'), results);
      const run = (extra: string[]) =>
        execFileSync('python3', [NABSCORE, join(dir, 'results'), '--labels', labels, '--data', data, ...extra], {
          encoding: 'utf8',
        });
      const std = run([]);
      const fixed = run(['--column', 'alert', '--threshold', '0.5']);
      const pick = (t: string) => Number(/standard\s+(-?[\d.]+)/.exec(t)?.[1] ?? Number.NaN);
      nab = { standard: pick(std), fixed: pick(fixed), text: std + fixed };
    } finally {
      if (!o.out) await rm(dir, { recursive: true, force: true });
    }
  }
  return { results, points, ms, maxStateBytes, ...(nab && { nab }) };
}

export function formatFamilies(b: FamiliesBench): string {
  const out: string[] = [];
  out.push(
    formatFigures(
      'family',
      summarise(b.results, (r) => r.series.family),
    ),
  );
  out.push('');
  out.push(
    formatFigures(
      'shape',
      summarise(b.results, (r) => r.series.shape),
    ),
  );
  out.push('');
  out.push(
    formatFigures(
      'all',
      summarise(b.results, () => 'all'),
    ),
  );
  const kinds: Record<string, number> = {};
  for (const r of b.results) for (const [k, v] of Object.entries(r.kinds)) kinds[k] = (kinds[k] ?? 0) + v;
  out.push(
    `alerts by kind: ${Object.entries(kinds)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  out.push(
    `${b.results.length} series, ${b.points.toLocaleString('en-US')} points in ${Math.round(b.ms)} ms (` +
      `${Math.round(b.points / (b.ms / 1000)).toLocaleString('en-US')} points/s); max state ${b.maxStateBytes} B`,
  );
  if (b.nab)
    out.push(`NAB standard (optimised threshold) ${b.nab.standard.toFixed(1)}, fixed 0.5 ${b.nab.fixed.toFixed(1)}`);
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const value = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const b = await benchDetectionFamilies({
    seeds: value('seeds') ? Number(value('seeds')) : 3,
    seed0: value('seed0') ? Number(value('seed0')) : 1,
    ...(value('out') && { out: value('out') }),
    ...(value('settings') && { settings: JSON.parse(value('settings') as string) as Partial<DetectorSettings> }),
    layout: {
      ...(args.includes('--young') ? YOUNG_LAYOUT : args.includes('--long') ? LONG_LAYOUT : DEFAULT_LAYOUT),
      ...(args.includes('--gaps') && { gaps: 0.01 }),
      ...(args.includes('--week-shape') && { weekShape: true }),
    },
  });
  if (args.includes('--json')) {
    const fam = Object.fromEntries(summarise(b.results, (r) => r.series.family));
    const shape = Object.fromEntries(summarise(b.results, (r) => r.series.shape));
    console.log(
      JSON.stringify(
        {
          family: fam,
          shape,
          nab: b.nab && { standard: b.nab.standard, fixed: b.nab.fixed },
          maxStateBytes: b.maxStateBytes,
        },
        null,
        1,
      ),
    );
  } else {
    console.log(formatFamilies(b));
    if (args.includes('--nab') && b.nab) console.log(b.nab.text);
  }
}
