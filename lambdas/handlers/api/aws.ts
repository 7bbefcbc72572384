import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { DEFAULT_MITIGATION_TIMINGS } from '../../adapters/mitigation-starter.js';
import type { MitigationTimings } from '../../core/ports/mitigation-starter.js';
import { requireEnv } from '../require-env.js';
import { API_ENV } from './environment.js';
import type { ApiEvent, ApiHandler } from './http.js';

export { requireEnv };

/** What every API Lambda shares: Powertools logger and tracer, a traced DynamoDB client, the state table. */
export function apiWiring() {
  const tracer = new Tracer();
  const logger = new Logger();
  const dynamo = tracer.captureAWSv3Client(new DynamoDBClient({ maxAttempts: 4 }));
  return { tracer, logger, dynamo, table: requireEnv(API_ENV.stateTable) };
}

export function timingsFromEnv(): MitigationTimings {
  const raw = process.env[API_ENV.mitigationTimings];
  return raw
    ? { ...DEFAULT_MITIGATION_TIMINGS, ...(JSON.parse(raw) as Partial<MitigationTimings>) }
    : DEFAULT_MITIGATION_TIMINGS;
}

/** Wire on the first request (cold start), not at import: tests import the modules without AWS. */
export function lazyHandler(wire: () => ApiHandler): (event: ApiEvent) => Promise<APIGatewayProxyResult> {
  let handler: ApiHandler | undefined;
  return (event) => {
    handler ??= wire();
    return handler(event);
  };
}
