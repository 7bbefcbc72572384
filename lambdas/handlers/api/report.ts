import { DynamoDbActionLedger } from '../../adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../../adapters/anomaly-store.js';
import { DynamoDbApprovalStore } from '../../adapters/approval-store.js';
import { DynamoDbEpisodeTraceStore } from '../../adapters/episode-trace-store.js';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ReportStore } from '../../adapters/report-store.js';
import { REPORT_LINKS_ENV } from '../report-environment.js';
import { apiWiring, lazyHandler } from './aws.js';
import { createReportHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger, tracer } = apiWiring();
  const bucket = process.env[REPORT_LINKS_ENV.reportsBucket];
  return createReportHandler(
    {
      anomalies: new DynamoDbAnomalyStore(dynamo, table),
      ledger: new DynamoDbActionLedger(dynamo, table),
      approvals: new DynamoDbApprovalStore(dynamo, table),
      // The cost card's minutes: the cost anomalies' episode traces, in the same table.
      traces: new DynamoDbEpisodeTraceStore(dynamo, table),
      ...(bucket && { reports: new S3ReportStore(tracer.captureAWSv3Client(new S3Client({})), bucket) }),
      now: Date.now,
    },
    logger,
  );
});
