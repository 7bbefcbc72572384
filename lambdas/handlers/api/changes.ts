import { DynamoDbChangeStore } from '../../adapters/change-store.js';
import { apiWiring, lazyHandler } from './aws.js';
import { createChangesHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger } = apiWiring();
  return createChangesHandler({ operatorChanges: new DynamoDbChangeStore(dynamo, table), now: Date.now }, logger);
});
