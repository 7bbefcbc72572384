/**
 * Replays `timestamp,value` CSV files through the detector, one file = one series, in event-time
 * order, and writes `timestamp,value,anomaly_score,alert` next to the same relative path under
 * `out` (NAB result layout). Timestamps without a zone are UTC.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { scorePoint, type DetectorSettings, type DetectorState } from '../lambdas/core/detection/index.js';
import { signalSpec, type BadDirection } from '../lambdas/core/signals.js';

export interface ReplayCsvOptions {
  /** A CSV file or a directory tree of them. */
  readonly input: string;
  /** Output directory (created); results keep the input's relative paths. */
  readonly out: string;
  readonly onProgress?: (done: number, total: number) => void;
  readonly settings?: Partial<DetectorSettings>;
  /** Bad direction for every file; default: from the file name's signal, else 'both'. */
  readonly direction?: BadDirection;
}

export interface ReplayCsvResult {
  readonly files: number;
  readonly rows: number;
  readonly alerts: number;
  readonly ms: number;
}

export async function replayCsv(opts: ReplayCsvOptions): Promise<ReplayCsvResult> {
  const started = performance.now();
  const info = await stat(opts.input);
  const files = info.isDirectory() ? (await listCsv(opts.input)).sort() : [opts.input];
  const root = info.isDirectory() ? opts.input : dirname(opts.input);
  let rows = 0;
  let alerts = 0;
  for (let i = 0; i < files.length; i++) {
    const file = files[i] as string;
    const direction = opts.direction ?? signalSpec(basename(file, '.csv')).bad;
    const text = await readFile(file, 'utf8');
    const result = replaySeries(text, direction, opts.settings);
    const target = join(opts.out, relative(root, file));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, result.csv);
    rows += result.rows;
    alerts += result.alerts;
    opts.onProgress?.(i + 1, files.length);
  }
  return { files: files.length, rows, alerts, ms: Math.round(performance.now() - started) };
}

async function listCsv(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listCsv(p)));
    else if (entry.isFile() && entry.name.toLowerCase().endsWith('.csv')) out.push(p);
  }
  return out;
}

/** Scores one CSV text; exported for tests. Rows keep their input order and timestamp text. */
export function replaySeries(
  text: string,
  direction: BadDirection,
  settings?: Partial<DetectorSettings>,
): { csv: string; rows: number; alerts: number } {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase());
  const ti = Math.max(0, header.indexOf('timestamp'));
  const vi = header.indexOf('value') >= 0 ? header.indexOf('value') : 1;
  const tsText: string[] = [];
  const valueText: string[] = [];
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.length === 0) continue;
    const cells = line.split(',');
    const t = cells[ti] ?? '';
    const v = cells[vi] ?? '';
    tsText.push(t);
    valueText.push(v);
    ts.push(parseUtc(t));
    values.push(v.trim() === '' ? Number.NaN : Number(v));
  }
  const n = tsText.length;
  const order = Array.from({ length: n }, (_, i) => i);
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if ((ts[i] as number) < (ts[i - 1] as number)) sorted = false;
  if (!sorted) order.sort((a, b) => ((ts[a] as number) - (ts[b] as number)) || a - b);
  const score = new Array<number>(n).fill(0);
  const alert = new Array<boolean>(n).fill(false);
  let state: DetectorState | undefined;
  let alerts = 0;
  for (const i of order) {
    const r = scorePoint(state, { ts: ts[i] as number, value: values[i] as number }, direction, settings);
    state = r.state;
    score[i] = r.score;
    alert[i] = r.anomalous;
    if (r.anomalous) alerts++;
  }
  const parts: string[] = ['timestamp,value,anomaly_score,alert'];
  for (let i = 0; i < n; i++) parts.push(`${tsText[i]},${valueText[i]},${formatScore(score[i] as number)},${alert[i] ? 1 : 0}`);
  return { csv: parts.join('\n') + '\n', rows: n, alerts };
}

function formatScore(x: number): string {
  return x === 0 ? '0' : x === 1 ? '1' : x.toFixed(6);
}

const SIMPLE_TS = /^\s*"?(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"?\s*$/;

/** `2014-02-14 14:30:00` (UTC) fast path; anything else goes to Date.parse. NaN if unparsable. */
export function parseUtc(text: string): number {
  const m = SIMPLE_TS.exec(text);
  if (m) {
    const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
    return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0, ms);
  }
  return Date.parse(text.trim().replace(/^"|"$/g, ''));
}
