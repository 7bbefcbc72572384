import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ReportObject, ReportStore, StoredReport } from '../core/ports/report-store.js';
import { DAY_MS } from '../core/time.js';

const KEY = /^reports\/(\d{4})\/(\d\d)\/(\d\d)\/([^/]+)\/([^/]+)$/;

/** `reports/YYYY/MM/DD/` for every UTC day touching [from, to]. */
export function dayPrefixes(from: number, to: number): string[] {
  const prefixes: string[] = [];
  for (let d = Math.floor(from / DAY_MS) * DAY_MS; d <= to; d += DAY_MS)
    prefixes.push(`reports/${new Date(d).toISOString().slice(0, 10).replaceAll('-', '/')}/`);
  return prefixes;
}

/** Group listed object keys into reports. */
export function groupReportObjects(objects: readonly { key: string; lastModified: number }[]): StoredReport[] {
  const byId = new Map<string, StoredReport>();
  for (const o of objects) {
    const m = KEY.exec(o.key);
    if (!m) continue;
    const [, y, mo, d, id, file] = m as unknown as [string, string, string, string, string, string];
    const day = `${y}-${mo}-${d}`;
    const r = byId.get(`${day}/${id}`) ?? {
      id,
      day,
      kind: id.startsWith('daily-') || id.startsWith('digest-') ? 'daily' : 'episode',
      objects: {},
      lastModified: 0,
    };
    r.objects[file] = o.key;
    r.lastModified = Math.max(r.lastModified, o.lastModified);
    byId.set(`${day}/${id}`, r);
  }
  return [...byId.values()].sort((a, b) => a.day.localeCompare(b.day) || a.lastModified - b.lastModified);
}

export class S3ReportStore implements ReportStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(objects: readonly ReportObject[]): Promise<void> {
    // report.json last: a reader that finds it finds the whole report.
    const ordered = [...objects].sort(
      (a, b) => Number(a.key.endsWith('/report.json')) - Number(b.key.endsWith('/report.json')),
    );
    for (const o of ordered)
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: o.key, Body: o.body, ContentType: o.contentType }),
      );
  }

  async list(from: number, to: number): Promise<StoredReport[]> {
    const listed: { key: string; lastModified: number }[] = [];
    for (const Prefix of dayPrefixes(from, to)) {
      let token: string | undefined;
      do {
        const out: ListObjectsV2CommandOutput = await this.s3.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken: token }),
        );
        for (const o of out.Contents ?? [])
          if (o.Key) listed.push({ key: o.Key, lastModified: o.LastModified?.getTime() ?? 0 });
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    }
    return groupReportObjects(listed);
  }

  async read(key: string): Promise<string | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await out.Body?.transformToString('utf8');
    } catch (e) {
      if ((e as Error).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }

  link(key: string, expiresInSeconds: number, downloadAs?: string): Promise<string> {
    const disposition =
      downloadAs === undefined
        ? {}
        : { ResponseContentDisposition: `attachment; filename="${downloadAs.replace(/[^\w.-]/g, '_')}"` };
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key, ...disposition }), {
      expiresIn: expiresInSeconds,
    });
  }
}
