/** One stored report: its objects under `reports/YYYY/MM/DD/<id>/`. */
export interface StoredReport {
  id: string;
  /** `YYYY-MM-DD` of the episode start or of the digest. */
  day: string;
  kind: 'episode' | 'daily';
  /** File name (`report.json`, `report.md`, `report.html`, `evidence.tar.gz`) → object key. */
  objects: Record<string, string>;
  lastModified: number;
}

export interface ReportObject {
  key: string;
  body: string | Uint8Array;
  contentType: string;
}

/** Where reports are written and found: the encrypted reports bucket (s3rver locally). */
export interface ReportStore {
  put(objects: readonly ReportObject[]): Promise<void>;
  /** Reports dated in [from, to] (by their `YYYY/MM/DD` prefix), oldest first. */
  list(from: number, to: number): Promise<StoredReport[]>;
  read(key: string): Promise<string | undefined>;
  /** A short-lived download link; with `downloadAs`, the object is answered as an attachment of that file name. */
  link(key: string, expiresInSeconds: number, downloadAs?: string): Promise<string>;
}
