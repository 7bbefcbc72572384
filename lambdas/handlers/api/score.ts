import { DynamoDbChangeStore } from '../../adapters/change-store.js';
import { DynamoDbWindowStore } from '../../adapters/window-store.js';
import { apiWiring, lazyHandler } from './aws.js';
import { createScoreHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger } = apiWiring();
  return createScoreHandler(
    { windows: new DynamoDbWindowStore(dynamo, table), changes: new DynamoDbChangeStore(dynamo, table) },
    logger,
  );
});
