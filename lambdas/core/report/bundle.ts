import { buildDailyReport } from './daily.js';
import { buildEpisodeReport, sortLedger } from './episode.js';
import { iso } from './format.js';
import { renderHtml } from './html.js';
import { reportObjectKeys, type ReportObjectKeys } from './keys.js';
import { renderMarkdown } from './markdown.js';
import type { EpisodeReportInput, Report, ReportInput } from './model.js';
import { tarGz, type ArchiveFile } from './tar.js';

/**
 * The report (episode RCA or daily digest) of one input. Pure: the same input gives the same report.
 *
 * @example
 * const report = buildReport({ kind: 'episode', anomaly, series, changes, ledger, generatedAt });
 * renderJson(report); // report.json, byte-identical for the same input
 */
export function buildReport(input: ReportInput): Report {
  return input.kind === 'episode' ? buildEpisodeReport(input) : buildDailyReport(input);
}

/** report.json: two-space JSON, newline-terminated (byte-identical for the same input). */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/**
 * The files of the evidence bundle: the report in its three forms plus what it was computed from,
 * verbatim and in a fixed order (window-data.json, changes.json, ledger.json; episodes.json and, when given,
 * cost-series.json for a digest).
 */
export function evidenceFiles(input: ReportInput, report: Report = buildReport(input)): ArchiveFile[] {
  const files: ArchiveFile[] = [
    { name: 'report.json', content: renderJson(report) },
    { name: 'report.md', content: renderMarkdown(report) },
    { name: 'report.html', content: renderHtml(report) },
  ];
  if (input.kind === 'episode') {
    files.push({ name: 'window-data.json', content: json(windowData(input)) });
    const changes = [...(input.changes ?? [])].sort(
      (a, b) =>
        a.ts - b.ts ||
        (a.id ?? '').localeCompare(b.id ?? '') ||
        a.change.localeCompare(b.change) ||
        a.tenant.localeCompare(b.tenant),
    );
    files.push({
      name: 'changes.json',
      content: json({ correlatedAtDetection: input.anomaly.correlatedChanges, records: changes }),
    });
    files.push({
      name: 'ledger.json',
      content: json({ rollbackKey: input.plan?.rollbackKey ?? null, entries: sortLedger(input.ledger ?? []) }),
    });
  } else {
    const episodes = [...input.episodes].sort(
      (a, b) => a.anomaly.start - b.anomaly.start || a.anomaly.id.localeCompare(b.anomaly.id),
    );
    files.push({ name: 'episodes.json', content: json(episodes) });
    // What the cost card counted, as given (the generator passes them in the anomalies' order).
    if (input.costSeries?.length) files.push({ name: 'cost-series.json', content: json(input.costSeries) });
  }
  return files;
}

function windowData(input: EpisodeReportInput) {
  const a = input.anomaly;
  const points = [...input.series]
    .sort((x, y) => x.ts - y.ts || x.observed - y.observed)
    .map((p) => ({ at: Number.isFinite(p.ts) ? iso(p.ts) : null, ...p }));
  return {
    episode: a.id,
    tenant: a.tenant,
    signal: a.signal,
    region: a.region ?? null,
    expectedAtDetection: a.expected,
    bandAtDetection: a.band,
    points,
  };
}

function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

export interface ReportObject {
  key: string;
  body: string | Buffer;
  contentType: string;
}

export interface RenderedReport {
  report: Report;
  keys: ReportObjectKeys;
  /** report.json, report.md, report.html, evidence.tar.gz: what the report store puts. */
  objects: ReportObject[];
}

/**
 * Everything the report Lambda writes for one input, in one call. The archive is stamped with
 * `generatedAt`, so the same input gives byte-identical objects under the same keys.
 */
export function renderReport(input: ReportInput): RenderedReport {
  const report = buildReport(input);
  const keys = reportObjectKeys(report);
  const files = evidenceFiles(input, report);
  const content = (name: string) => files.find((f) => f.name === name)!.content as string;
  return {
    report,
    keys,
    objects: [
      { key: keys.json, body: content('report.json'), contentType: 'application/json; charset=utf-8' },
      { key: keys.markdown, body: content('report.md'), contentType: 'text/markdown; charset=utf-8' },
      { key: keys.html, body: content('report.html'), contentType: 'text/html; charset=utf-8' },
      { key: keys.bundle, body: tarGz(files, input.generatedAt), contentType: 'application/gzip' },
    ],
  };
}
