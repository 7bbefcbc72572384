/**
 * Replays `timestamp,value` CSV files through the detector — one file is one series, scored in
 * event-time order — and writes `timestamp,value,anomaly_score,alert` at the same relative path
 * under `out` (the layout NAB's scorer reads). Timestamps without a zone are UTC. Every input row
 * gets an output row in input order, with timestamp and value copied verbatim; rows whose
 * timestamp or value cannot be read score 0 and never alert. Points inside an incident already open
 * score 0 and do not alert (`incidentView`: production pages an incident once).
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import {
  incidentView,
  resolveSettings,
  scorePoint,
  type DetectorSettings,
  type DetectorState,
} from '../lambdas/core/detection/index.js';
import { signalSpec, type BadDirection } from '../lambdas/core/signals.js';

export interface ReplayCsvOptions {
  /** A CSV file or a directory tree of them. */
  readonly input: string;
  /** Output directory (created); results keep the input's relative paths. */
  readonly out: string;
  readonly onProgress?: (done: number, total: number) => void;
  readonly settings?: Partial<DetectorSettings>;
  /** Bad direction for every file; default: the signal named by the file (e.g. cache_hit_ratio.csv), else 'both'. */
  readonly direction?: BadDirection;
}

export interface ReplayCsvResult {
  readonly files: number;
  readonly rows: number;
  readonly alerts: number;
  readonly ms: number;
}

export const RESULT_HEADER = 'timestamp,value,anomaly_score,alert';

export async function replayCsv(opts: ReplayCsvOptions): Promise<ReplayCsvResult> {
  const started = performance.now();
  if (opts.settings) resolveSettings(opts.settings); // invalid settings fail before any output
  const info = await stat(opts.input);
  const files = info.isDirectory() ? (await listCsv(opts.input)).sort() : [opts.input];
  const root = info.isDirectory() ? opts.input : dirname(opts.input);
  let rows = 0;
  let alerts = 0;
  for (let i = 0; i < files.length; i++) {
    const file = files[i] as string;
    const direction = opts.direction ?? signalSpec(basename(file).replace(/\.csv$/i, '')).bad;
    const result = replaySeries(await readFile(file, 'utf8'), direction, opts.settings);
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

/**
 * Scores one CSV text (header + `timestamp,value` rows; the columns are found by name when the
 * header names them). Exported for tests.
 */
export function replaySeries(
  text: string,
  direction: BadDirection,
  settings?: Partial<DetectorSettings>,
): { csv: string; rows: number; alerts: number } {
  const lines = text.split('\n');
  const header = splitCells(stripCr(lines[0] ?? '')).map((h) => unquote(h).toLowerCase());
  const ti = Math.max(header.indexOf('timestamp'), 0);
  const vi = header.indexOf('value') >= 0 ? header.indexOf('value') : ti === 0 ? 1 : 0;
  const tsText: string[] = [];
  const valueText: string[] = [];
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = stripCr(lines[i] as string);
    if (line.length === 0) continue;
    let t: string;
    let v: string;
    const comma = line.indexOf(',');
    if (ti === 0 && vi === 1 && comma >= 0 && line.indexOf(',', comma + 1) < 0) {
      t = line.slice(0, comma);
      v = line.slice(comma + 1);
    } else {
      const cells = splitCells(line);
      t = cells[ti] ?? '';
      v = cells[vi] ?? '';
    }
    tsText.push(t);
    valueText.push(v);
    ts.push(parseUtc(t));
    const u = unquote(v).trim();
    values.push(u === '' ? Number.NaN : Number(u));
  }
  const n = tsText.length;
  let order: number[] | undefined;
  for (let i = 1; i < n; i++) {
    if (!((ts[i] as number) >= (ts[i - 1] as number))) {
      // Event-time order, stable; unreadable timestamps go last (they are not scored anyway).
      const key = (k: number) => (Number.isFinite(ts[k]) ? (ts[k] as number) : Number.POSITIVE_INFINITY);
      order = Array.from({ length: n }, (_, k) => k).sort((a, b) => key(a) - key(b) || a - b);
      break;
    }
  }
  const score = new Float64Array(n);
  const alert = new Uint8Array(n);
  let state: DetectorState | undefined;
  let alerts = 0;
  for (let j = 0; j < n; j++) {
    const i = order ? (order[j] as number) : j;
    const r = scorePoint(state, { ts: ts[i] as number, value: values[i] as number }, direction, settings);
    const reported = incidentView(state, r);
    state = r.state;
    score[i] = reported.score;
    if (reported.alert) {
      alert[i] = 1;
      alerts++;
    }
  }
  const parts = new Array<string>(n + 1);
  parts[0] = RESULT_HEADER;
  for (let i = 0; i < n; i++)
    parts[i + 1] = `${tsText[i]},${valueText[i]},${formatScore(score[i] as number)},${alert[i]}`;
  return { csv: parts.join('\n') + '\n', rows: n, alerts };
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Splits on commas outside double quotes. */
function splitCells(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

function formatScore(x: number): string {
  return x === 0 ? '0' : x === 1 ? '1' : x.toFixed(6);
}

const SIMPLE_TS = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?Z?$/;

/**
 * Epoch ms of `2014-02-14 14:30:00` (no zone: UTC; fractional seconds and a trailing Z are
 * accepted); anything else goes to Date.parse. NaN if unreadable.
 */
export function parseUtc(text: string): number {
  const t = unquote(text);
  const m = SIMPLE_TS.exec(t);
  if (m) {
    const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
    return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0, ms);
  }
  return t === '' ? Number.NaN : Date.parse(t);
}
