import { DynamoDbAnomalyStore } from '../../adapters/anomaly-store.js';
import { DynamoDbFeedbackStore } from '../../adapters/feedback-store.js';
import { apiWiring, lazyHandler } from './aws.js';
import { createFeedbackHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger } = apiWiring();
  return createFeedbackHandler(
    {
      anomalies: new DynamoDbAnomalyStore(dynamo, table),
      feedback: new DynamoDbFeedbackStore(dynamo, table),
      now: Date.now,
    },
    logger,
  );
});
