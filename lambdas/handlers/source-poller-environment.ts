/**
 * Environment variables the source-poller Lambda reads; lib/source-pollers.ts and the local runtime set the same names.
 */
export const SOURCE_POLLER_ENV = {
  /** The source's configuration (UsageSourceConfig) as JSON. */
  source: 'USAGE_SOURCE',
  streamName: 'STREAM_NAME',
  failureQueueUrl: 'SOURCE_FAILURE_QUEUE_URL',
} as const;

export const SOURCE_POLLER_ENTRY = 'lambdas/handlers/source-poller.ts';
