import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ActionLedger } from '../lambdas/core/ports/action-ledger.js';
import type { AnomalyReader } from '../lambdas/core/ports/anomaly-store.js';
import type { ChangeStore } from '../lambdas/core/ports/change-store.js';
import type { EpisodeTraceStore } from '../lambdas/core/ports/episode-trace-store.js';
import type { Notifier } from '../lambdas/core/ports/notifier.js';
import { groupReportObjects, S3ReportStore } from '../lambdas/adapters/report-store.js';
import { createReportGenerator, type ExecutionStatusDetail } from '../lambdas/handlers/report-generator.js';
import type { LocalExecution } from './step-functions.js';
import type { UsageMeter } from './usage-meter.js';
import { emptyControlTargetTally, tallyControlTargets, type ControlTargetTally } from './summary.js';

export interface LocalReportsOptions {
  s3: S3Client;
  s3Endpoint: string;
  bucket: string;
  anomalies: Pick<AnomalyReader, 'get' | 'between'>;
  ledger: Pick<ActionLedger, 'entries'>;
  changes: Pick<ChangeStore, 'startedBetween'>;
  traces: Pick<EpisodeTraceStore, 'series'>;
  notifier: Notifier;
  onError?: (e: unknown) => void;
  /** Counts and times the generator Lambda's invocations. */
  meter?: UsageMeter;
}

/** The status-change event EventBridge sends when an execution ends, built from a local execution. */
export function statusChangeDetail(x: LocalExecution): ExecutionStatusDetail {
  return {
    executionArn: `arn:aws:states:us-east-1:000000000000:execution:MitigationStateMachine:${x.name}`,
    name: x.name,
    status: x.status,
    startDate: x.startedAt,
    stopDate: x.stoppedAt ?? null,
    input: JSON.stringify(x.input),
    output: x.result ? JSON.stringify(x.result) : null,
  };
}

/**
 * The report generator on the local stand-ins: the same handler, reports in the s3rver bucket created
 * from the template, triggered like the EventBridge rule (an execution ended) and the daily schedule.
 */
export function localReports(o: LocalReportsOptions) {
  const store = new S3ReportStore(o.s3, o.bucket);
  const generator = createReportGenerator({
    anomalies: o.anomalies,
    ledger: o.ledger,
    changes: o.changes,
    traces: o.traces,
    executions: { describe: async () => ({}) },
    reports: store,
    notifier: o.notifier,
    location: (key) => `${o.s3Endpoint}/${o.bucket}/${key}`,
  });
  const generate = o.meter ? o.meter.timed('reports', generator) : generator;
  const pending = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>) => {
    const t = p.catch((e: unknown) => o.onError?.(e)).finally(() => pending.delete(t));
    pending.add(t);
    return p;
  };
  return {
    store,
    /** What the EventBridge rule does when a mitigation execution ends. */
    executionEnded(x: LocalExecution) {
      void track(generate({ 'detail-type': 'Step Functions Execution Status Change', detail: statusChangeDetail(x) }));
    },
    /** What the daily schedule does: the digest of the UTC day before `time`. */
    daily(time: number) {
      return track(generate({ 'detail-type': 'Scheduled Event', time: new Date(time).toISOString() }));
    },
    async drain() {
      while (pending.size) await Promise.all([...pending]);
    },
    /** Seed 004 §F control targets over every episode report written so far. */
    async controlTargets(): Promise<ControlTargetTally> {
      const tally = emptyControlTargetTally();
      const listed = await o.s3.send(new ListObjectsV2Command({ Bucket: o.bucket, Prefix: 'reports/' }));
      for (const c of listed.Contents ?? []) {
        if (!c.Key?.endsWith('/report.json')) continue;
        const out = await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: c.Key }));
        const report = JSON.parse(await out.Body!.transformToString()) as Parameters<typeof tallyControlTargets>[1] & {
          kind?: string;
        };
        if (report.kind === 'episode') tallyControlTargets(tally, report);
      }
      return tally;
    },
    /** Copy every report object to `<dir>/…` (the key without its `reports/` prefix); returns the report count. */
    async copyTo(dir: string): Promise<number> {
      // A local run holds a few dozen objects: one listing page.
      const listed = await o.s3.send(new ListObjectsV2Command({ Bucket: o.bucket, Prefix: 'reports/' }));
      const reports = groupReportObjects(
        (listed.Contents ?? []).map((c) => ({ key: c.Key!, lastModified: c.LastModified?.getTime() ?? 0 })),
      );
      for (const r of reports) {
        for (const key of Object.values(r.objects)) {
          const out = await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: key }));
          const file = join(dir, key.replace(/^reports\//, ''));
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, await out.Body!.transformToByteArray());
        }
      }
      return reports.length;
    },
  };
}
