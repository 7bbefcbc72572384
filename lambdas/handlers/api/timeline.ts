import { DynamoDbActionLedger } from '../../adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../../adapters/anomaly-store.js';
import { DynamoDbApprovalStore } from '../../adapters/approval-store.js';
import { DynamoDbChangeStore } from '../../adapters/change-store.js';
import { DynamoDbWindowStore } from '../../adapters/window-store.js';
import { DynamoDbEpisodeTraceStore } from '../../adapters/episode-trace-store.js';
import { apiWiring, lazyHandler } from './aws.js';
import { createTimelineHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger } = apiWiring();
  return createTimelineHandler(
    {
      anomalies: new DynamoDbAnomalyStore(dynamo, table),
      ledger: new DynamoDbActionLedger(dynamo, table),
      approvals: new DynamoDbApprovalStore(dynamo, table),
      windows: new DynamoDbWindowStore(dynamo, table),
      changes: new DynamoDbChangeStore(dynamo, table),
      traces: new DynamoDbEpisodeTraceStore(dynamo, table),
      now: Date.now,
    },
    logger,
  );
});
