import { MINUTE_MS } from '../time.js';
import { clock, num } from './format.js';
import type { DailyReport, EpisodeReport } from './model.js';

/** Inline SVG only: the report must open from an e-mail attachment or an air-gapped laptop. */

export function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const W = 760;
const H = 300;
const M = { left: 60, right: 14, top: 50, bottom: 30 };
/** A jump longer than this is missing data: the observed line breaks instead of drawing a straight segment. */
const GAP_MS = 5 * MINUTE_MS;

type MarkerKind = 'change' | 'start' | 'detected' | 'applied' | 'rolled-back' | 'stabilised';
const COLOURS: Readonly<Record<MarkerKind, string>> = {
  change: '#7b3fa0',
  start: '#b00020',
  detected: '#b00020',
  applied: '#1b7f3b',
  'rolled-back': '#666666',
  stabilised: '#1565c0',
};

interface Marker {
  ts: number;
  kind: MarkerKind;
  label: string;
  title: string;
}

const f1 = (v: number) => String(Math.round(v * 10) / 10);

/** Observed line, expected line and band, and a vertical marker per change, action and milestone. */
export function episodeChart(r: EpisodeReport): string {
  const e = r.episode;
  const pts = r.series.map((p) => ({ ...p, t: Date.parse(p.ts) }));
  const markers = episodeMarkers(r);
  const times = pts.length ? [pts[0]!.t, pts[pts.length - 1]!.t + MINUTE_MS] : markers.map((m) => m.ts);
  const title = `${e.tenant} ${e.signal}: observed against the expected band`;
  if (!times.length)
    return (
      `<svg class="chart" viewBox="0 0 ${W} 60" width="${W}" height="60" role="img"><title>${esc(title)}` +
      `</title><text x="10" y="35" font-size="13">No data for the chart.</text></svg>`
    );
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + MINUTE_MS);
  const values = pts.flatMap((p) => [p.observed, p.lo, p.hi]).filter(Number.isFinite);
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  const pad = hi > lo ? (hi - lo) * 0.08 : Math.abs(hi) * 0.1 || 1;
  lo -= pad;
  hi += pad;
  const x = (t: number) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - ((v - lo) / (hi - lo)) * (H - M.top - M.bottom);

  const parts: string[] = [];
  parts.push(
    `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}" ` +
      `font-family="system-ui, sans-serif">`,
    `<title>${esc(title)}</title>`,
  );
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" ` +
      `fill="#fafafa" stroke="#dddddd"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    parts.push(
      `<text class="tick" x="${M.left - 4}" y="${f1(y(v) + 3)}" font-size="10" text-anchor="end" fill="#555555">` +
        `${esc(num(v))}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const t = t0 + ((t1 - t0) * i) / 5;
    parts.push(
      `<text class="tick" x="${f1(x(t))}" y="${H - M.bottom + 14}" font-size="10" text-anchor="middle" ` +
        `fill="#555555">${esc(clock(Math.round(t / MINUTE_MS) * MINUTE_MS, e.start).replace(' UTC', ''))}</text>`,
    );
  }
  if (pts.length) {
    const upper = pts.map((p) => `${f1(x(p.t))},${f1(y(p.hi))}`);
    const lower = pts.map((p) => `${f1(x(p.t))},${f1(y(p.lo))}`).reverse();
    parts.push(
      `<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="#90caf9" fill-opacity="0.35" ` +
        `stroke="none"/>`,
    );
    parts.push(
      `<path class="expected" d="${line(
        pts.map((p) => ({ t: p.t, v: p.expected })),
        x,
        y,
      )}" fill="none" stroke="#1565c0" stroke-width="1" stroke-dasharray="4 3"/>`,
    );
    parts.push(
      `<path class="observed" d="${line(
        pts.map((p) => ({ t: p.t, v: p.observed })),
        x,
        y,
      )}" fill="none" stroke="#d32f2f" stroke-width="1.6"/>`,
    );
  }
  parts.push('<g class="markers">');
  const rows: number[] = [];
  for (const m of markers.filter((m) => m.ts >= t0 && m.ts <= t1)) {
    const mx = x(m.ts);
    // Close labels go on the next row so they stay readable.
    let row = 0;
    while (row < 3 && rows[row] !== undefined && mx - rows[row]! < 64) row++;
    rows[row] = mx;
    const colour = COLOURS[m.kind];
    parts.push(
      `<g class="marker ${m.kind}"><title>${esc(m.title)}</title>` +
        `<line x1="${f1(mx)}" y1="${M.top - 44 + row * 11 + 3}" x2="${f1(mx)}" y2="${H - M.bottom}" stroke="` +
        `${colour}" stroke-width="1"${m.kind === 'rolled-back' ? ' stroke-dasharray="2 2"' : ''}/>` +
        `<text x="${f1(mx + 2)}" y="${M.top - 44 + row * 11 + 8}" font-size="9" fill="${colour}">${esc(m.label)}` +
        `</text></g>`,
    );
  }
  parts.push('</g>', '</svg>');
  return parts.join('\n');
}

function line(points: { t: number; v: number }[], x: (t: number) => number, y: (v: number) => number): string {
  let d = '';
  let prev: number | undefined;
  for (const p of points) {
    if (!Number.isFinite(p.v)) continue;
    d += `${d && prev !== undefined && p.t - prev <= GAP_MS ? 'L' : 'M'}${f1(x(p.t))},${f1(y(p.v))} `;
    prev = p.t;
  }
  return d.trim();
}

function shortStep(stepId: string): string {
  return stepId.slice(stepId.lastIndexOf('/') + 1);
}

function episodeMarkers(r: EpisodeReport): Marker[] {
  const out: Marker[] = [];
  for (const c of r.changes)
    out.push({
      ts: Date.parse(c.at),
      kind: 'change',
      label: c.id ?? c.change,
      title: `${c.change}${c.id ? ` ${c.id}` : ''}${c.title ? ` "${c.title}"` : ''} at ${clock(c.at)}`,
    });
  out.push({
    ts: Date.parse(r.episode.start),
    kind: 'start',
    label: 'start',
    title: `anomaly start ${clock(r.episode.start)}`,
  });
  out.push({
    ts: Date.parse(r.episode.detectedAt),
    kind: 'detected',
    label: 'detected',
    title: `detected ${clock(r.episode.detectedAt)}`,
  });
  for (const a of r.actions) {
    out.push({
      ts: Date.parse(a.appliedAt),
      kind: 'applied',
      label: shortStep(a.stepId),
      title: `applied ${a.title} (${a.rollbackKey}) at ${clock(a.appliedAt, undefined, true)}`,
    });
    if (a.rolledBackAt !== undefined)
      out.push({
        ts: Date.parse(a.rolledBackAt),
        kind: 'rolled-back',
        label: `undo ${shortStep(a.stepId)}`,
        title: `rolled back ${a.title} (${a.rollbackKey}) at ${clock(a.rolledBackAt, undefined, true)}`,
      });
  }
  if (r.stabilisation.stabilisedAt !== null)
    out.push({
      ts: Date.parse(r.stabilisation.stabilisedAt),
      kind: 'stabilised',
      label: 'stable',
      title: r.stabilisation.description,
    });
  return mergeSameMinute(
    out.sort((a, b) => a.ts - b.ts || a.kind.localeCompare(b.kind) || a.label.localeCompare(b.label)),
  );
}

/** A stage applies its steps within seconds: one marker per kind and minute keeps the labels legible. */
function mergeSameMinute(markers: Marker[]): Marker[] {
  const out: Marker[] = [];
  const groups = new Map<string, Marker[]>();
  for (const m of markers) {
    const key = `${m.kind}@${Math.floor(m.ts / MINUTE_MS)}`;
    const group = groups.get(key);
    if (group) group.push(m);
    else {
      const fresh = [m];
      groups.set(key, fresh);
      out.push(m);
    }
  }
  return out.map((first) => {
    const group = groups.get(`${first.kind}@${Math.floor(first.ts / MINUTE_MS)}`)!;
    if (group.length === 1) return first;
    const verb = first.kind === 'applied' ? 'applied' : first.kind === 'rolled-back' ? 'undone' : first.kind;
    return { ...first, label: `${group.length} ${verb}`, title: group.map((m) => m.title).join('\n') };
  });
}

/** The day as a strip, one dot per episode (colour by severity), so clusters stand out. */
export function dailyChart(r: DailyReport): string {
  const h = 70;
  const from = Date.parse(r.range.from);
  const to = Math.max(Date.parse(r.range.to), from + MINUTE_MS);
  const x = (t: number) => M.left + ((t - from) / (to - from)) * (W - M.left - M.right);
  const colour: Record<string, string> = { SEV1: '#b00020', SEV2: '#e65100', SEV3: '#f9a825', SEV4: '#9e9e9e' };
  const parts = [
    `<svg class="chart day" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="episodes ` +
      `over the range" font-family="system-ui, sans-serif">`,
    `<title>Episodes from ${esc(r.range.from)} to ${esc(r.range.to)}</title>`,
  ];
  parts.push(`<line x1="${M.left}" y1="30" x2="${W - M.right}" y2="30" stroke="#bbbbbb"/>`);
  for (let i = 0; i <= 4; i++) {
    const t = from + ((to - from) * i) / 4;
    parts.push(
      `<text class="tick" x="${f1(x(t))}" y="55" font-size="10" text-anchor="middle" fill="#555555">` +
        `${esc(clock(Math.round(t / MINUTE_MS) * MINUTE_MS, r.range.from).replace(' UTC', ''))}</text>`,
    );
  }
  for (const e of r.episodes) {
    parts.push(
      `<circle class="episode" cx="${f1(x(Date.parse(e.start)))}" cy="30" r="6" fill="` +
        `${colour[e.severity] ?? '#9e9e9e'}" fill-opacity="0.8"><title>` +
        `${esc(`${e.severity} ${e.tenant} ${e.signal} ${e.change} (${e.class}) at ${clock(e.start)}`)}` +
        `</title></circle>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}
