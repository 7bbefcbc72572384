import { DynamoDbActionLedger } from '../../adapters/action-ledger.js';
import { DynamoDbAnomalyStore } from '../../adapters/anomaly-store.js';
import { apiWiring, lazyHandler } from './aws.js';
import { createReportHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger } = apiWiring();
  return createReportHandler({ anomalies: new DynamoDbAnomalyStore(dynamo, table), ledger: new DynamoDbActionLedger(dynamo, table), now: Date.now }, logger);
});
