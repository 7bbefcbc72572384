import { episodeHash } from '../mitigation/keys.js';
import { dayOf } from './format.js';
import type { Report } from './model.js';
import { DAY_MS } from '../time.js';

/**
 * `rca-<episode hash>-<tenant>-<signal>`: the same hash as the episode's rollback key
 * (`rb-<hash>`), so one finds the other; the names keep S3 listings readable. Deterministic, so
 * regenerating a report overwrites its objects instead of adding new ones.
 */
export function episodeReportId(episodeId: string, tenant: string, signal: string): string {
  return `rca-${episodeHash(episodeId)}-${slug(tenant)}-${slug(signal)}`.slice(0, 120);
}

/** `daily-YYYY-MM-DD` for a UTC day; any other range is `digest-<from>-<to>` (minutes, UTC). */
export function dailyReportId(range: { from: number; to: number }): string {
  if (range.from % DAY_MS === 0 && range.to - range.from === DAY_MS) return `daily-${dayOf(range.from)}`;
  return `digest-${compact(range.from)}-${compact(range.to)}`;
}

function compact(ts: number): string {
  return new Date(ts).toISOString().slice(0, 16).replace(/[-:]/g, '') + 'Z';
}

/** Tenants and signals are `[A-Za-z0-9._:-]` (contract 1); keep S3-friendly characters only, whatever arrives. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 48) || '_';
}

export interface ReportObjectKeys {
  /** `reports/YYYY/MM/DD/<id>/` */
  prefix: string;
  json: string;
  markdown: string;
  html: string;
  bundle: string;
}

/** Contract 3: `reports/YYYY/MM/DD/<id>/…`, dated by the episode's start (UTC) or the digest's day. */
export function reportObjectKeys(report: Report): ReportObjectKeys {
  return objectKeysFor(report.kind === 'episode' ? report.episode.start.slice(0, 10) : report.day, report.id);
}

/** The same keys from a date (`YYYY-MM-DD`) and an id, e.g. to link an episode from the digest. */
export function objectKeysFor(day: string, id: string): ReportObjectKeys {
  const prefix = `reports/${day.replaceAll('-', '/')}/${id}/`;
  return {
    prefix,
    json: `${prefix}report.json`,
    markdown: `${prefix}report.md`,
    html: `${prefix}report.html`,
    bundle: `${prefix}evidence.tar.gz`,
  };
}
