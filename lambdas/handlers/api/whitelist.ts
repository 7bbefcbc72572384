import { DynamoDbChangeStore } from '../../adapters/change-store.js';
import { apiWiring, lazyHandler } from './aws.js';
import { createWhitelistHandler } from './operator-api.js';

export const handler = lazyHandler(() => {
  const { dynamo, table, logger } = apiWiring();
  return createWhitelistHandler({ whitelist: new DynamoDbChangeStore(dynamo, table), now: Date.now }, logger);
});
