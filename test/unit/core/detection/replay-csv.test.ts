import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUtc, replayCsv, replaySeries, RESULT_HEADER } from '../../../../local/replay-csv.js';
import { noisy, replay } from './synthetic.js';

const FIVE_MIN = 300_000;
const T0 = Date.UTC(2014, 1, 14, 14, 30);

function isoish(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

function csvOf(values: readonly number[], start = T0): string {
  return (
    ['timestamp,value', ...values.map((v, i) => `${isoish(start + i * FIVE_MIN)},${v.toFixed(3)}`)].join('\n') + '\n'
  );
}

function rowsOf(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.split(','));
}

describe('replayCsv', () => {
  let dir: string;
  const spiky = noisy(3000, 7, (i, v) => (i === 2600 ? v + 100 : v));
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replay-csv-'));
    await mkdir(join(dir, 'in', 'realAWS', 'nested'), { recursive: true });
    await writeFile(join(dir, 'in', 'realAWS', 'a.csv'), csvOf(spiky));
    await writeFile(join(dir, 'in', 'realAWS', 'nested', 'b.csv'), csvOf(noisy(500, 9)).replace(/\n/g, '\r\n'));
    await writeFile(join(dir, 'in', 'notes.txt'), 'not a csv');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one result per input file at the same relative path, same row count, scores in [0, 1]', async () => {
    const progress: [number, number][] = [];
    const out = join(dir, 'out');
    const summary = await replayCsv({ input: join(dir, 'in'), out, onProgress: (d, t) => progress.push([d, t]) });
    expect(summary.files).toBe(2);
    expect(summary.rows).toBe(3500);
    expect(summary.ms).toBeGreaterThanOrEqual(0);
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
    for (const [rel, n] of [
      ['realAWS/a.csv', 3000],
      ['realAWS/nested/b.csv', 500],
    ] as const) {
      const input = rowsOf((await readFile(join(dir, 'in', rel), 'utf8')).replace(/\r/g, ''));
      const rows = rowsOf(await readFile(join(out, rel), 'utf8'));
      expect(rows[0]!.join(',')).toBe(RESULT_HEADER);
      expect(rows.length - 1).toBe(n);
      rows.slice(1).forEach((r, i) => {
        expect(r[0]).toBe(input[i + 1]![0]); // timestamp verbatim
        expect(r[1]).toBe(input[i + 1]![1]);
        const score = Number(r[2]);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThanOrEqual(1);
        expect(['0', '1']).toContain(r[3]);
      });
    }
    const a = rowsOf(await readFile(join(out, 'realAWS/a.csv'), 'utf8')).slice(1);
    expect(a[2600]![3]).toBe('1');
    expect(summary.alerts).toBe(
      a.filter((r) => r[3] === '1').length +
        rowsOf(await readFile(join(out, 'realAWS/nested/b.csv'), 'utf8'))
          .slice(1)
          .filter((r) => r[3] === '1').length,
    );
  });

  it('replays a single file too, and is deterministic', async () => {
    const one = join(dir, 'one');
    const first = await replayCsv({ input: join(dir, 'in', 'realAWS', 'a.csv'), out: one });
    const text1 = await readFile(join(one, 'a.csv'), 'utf8');
    const second = await replayCsv({ input: join(dir, 'in', 'realAWS', 'a.csv'), out: one });
    expect(second.alerts).toBe(first.alerts);
    expect(await readFile(join(one, 'a.csv'), 'utf8')).toBe(text1);
  });

  it('rejects invalid settings before writing anything', async () => {
    await expect(
      replayCsv({ input: join(dir, 'in'), out: join(dir, 'bad'), settings: { zThreshold: -1 } }),
    ).rejects.toThrow(/zThreshold/);
  });
});

describe('replaySeries', () => {
  it('scores in event-time order but writes rows in input order', () => {
    const values = noisy(2800, 3, (i, v) => (i === 2600 ? v + 100 : v));
    const sorted = csvOf(values);
    const [head, ...rows] = sorted.trim().split('\n');
    // Reverse pairs of rows: input order differs from event time.
    const shuffled = [head, ...rows.map((_, i) => rows[i % 2 === 0 ? Math.min(i + 1, rows.length - 1) : i - 1]!)];
    const a = rowsOf(replaySeries(sorted, 'up').csv).slice(1);
    const b = rowsOf(replaySeries(shuffled.join('\n'), 'up').csv).slice(1);
    expect(b.length).toBe(a.length);
    const byTs = new Map(a.map((r) => [r[0], r]));
    for (const r of b) expect(r).toEqual(byTs.get(r[0]));
  });

  it('reports an incident once: its new extremes while it is open neither alert nor score again', () => {
    // a surge that grows for three points, and a larger one hours later
    const surge: Record<number, number> = { 2600: 40, 2601: 60, 2602: 80, 2800: 150 };
    const values = noisy(3000, 3, (i, v) => v + (surge[i] ?? 0));
    const times = values.map((_, i) => T0 + i * FIVE_MIN);
    const detector = replay(values, 'up', undefined, times).results;
    expect(detector.filter((r) => r.anomalous && r.i >= 2500).map((r) => r.i)).toEqual([2600, 2601, 2602, 2800]);
    const rows = rowsOf(replaySeries(csvOf(values), 'up').csv).slice(1);
    const from2500 = (pick: (r: string[]) => boolean) => rows.flatMap((r, i) => (i >= 2500 && pick(r) ? [i] : []));
    expect(from2500((r) => r[3] === '1')).toEqual([2600, 2800]);
    expect(from2500((r) => Number(r[2]) >= 0.5)).toEqual([2600, 2800]);
    expect([2601, 2602].map((i) => rows[i]![2])).toEqual(['0', '0']);
  });

  it('keeps unreadable rows (blank value, bad timestamp) without scoring them', () => {
    const text = csvOf(noisy(300, 5)) + '2014-03-01 00:00:00,\nnot-a-time,5\n';
    const out = rowsOf(replaySeries(text, 'both').csv);
    expect(out.length - 1).toBe(302);
    expect(out.at(-2)).toEqual(['2014-03-01 00:00:00', '', '0', '0']);
    expect(out.at(-1)).toEqual(['not-a-time', '5', '0', '0']);
  });

  it('finds the columns by name', () => {
    const text = 'value,timestamp,host\n1,2014-01-01 00:00:00,a\n2,2014-01-01 00:05:00,b\n';
    const out = rowsOf(replaySeries(text, 'both').csv);
    expect(out.slice(1).map((r) => [r[0], r[1]])).toEqual([
      ['2014-01-01 00:00:00', '1'],
      ['2014-01-01 00:05:00', '2'],
    ]);
  });
});

describe('parseUtc', () => {
  it('reads NAB-style timestamps as UTC', () => {
    expect(parseUtc('2014-02-14 14:30:00')).toBe(Date.UTC(2014, 1, 14, 14, 30));
    expect(parseUtc('2014-02-14T14:30:00.250Z')).toBe(Date.UTC(2014, 1, 14, 14, 30, 0, 250));
    expect(parseUtc('"2014-02-14 14:30"')).toBe(Date.UTC(2014, 1, 14, 14, 30));
    expect(parseUtc('2014-02-14T14:30:00+01:00')).toBe(Date.UTC(2014, 1, 14, 13, 30));
    expect(parseUtc('yesterday')).toBeNaN();
    expect(parseUtc('')).toBeNaN();
  });
});
