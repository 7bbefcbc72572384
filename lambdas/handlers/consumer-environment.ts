/**
 * Environment variables the stream-consumer Lambda reads; the CDK construct and the local runtime set the same names.
 */
export const CONSUMER_ENV = {
  stateTable: 'STATE_TABLE_NAME',
  invalidRecordQueueUrl: 'INVALID_RECORD_QUEUE_URL',
  alertTopicArn: 'ALERT_TOPIC_ARN',
  windowMinutes: 'WINDOW_MINUTES',
  slideMinutes: 'SLIDE_MINUTES',
  allowedLatenessMs: 'ALLOWED_LATENESS_MS',
  dedupeIds: 'DEDUPE_IDS',
  /** Longest change window (hours) a producer may put on the stream. */
  maxStreamChangeWindowHours: 'MAX_STREAM_CHANGE_WINDOW_HOURS',
  /** Absent: `mitigate` decisions are alerted but no workflow is started. */
  mitigationStateMachineArn: 'MITIGATION_STATE_MACHINE_ARN',
  mitigationTimings: 'MITIGATION_TIMINGS',
  /** Largest gap (minutes) between the episode starts of one incident's members (default 10). */
  incidentWindowMinutes: 'INCIDENT_WINDOW_MINUTES',
  /** `true`: quiet keys are written every other tumbling window (lambdas/core/window-carry.ts). */
  carryQuietKeys: 'CARRY_QUIET_KEYS',
  /** The stream, for a new shard's parents (their carries are folded by their children). */
  streamArn: 'STREAM_ARN',
} as const;
