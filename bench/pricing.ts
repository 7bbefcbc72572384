/** us-east-1 on-demand list prices from DESIGN.md "What the state costs". */
export const PRICES = {
  /** DynamoDB on-demand, per write request unit (1 per started KB written). */
  dynamoWru: 0.625 / 1e6,
  /**
   * DynamoDB on-demand, per read request unit (1 per started 4 KB, strongly consistent).
   * Not in DESIGN's list; the current us-east-1 on-demand price, shown separately.
   */
  dynamoRru: 0.125 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecond: 0.0000166667,
  /** Managed Service for Apache Flink floor: 2 KPU × $0.11/h at 1,000 events/s. */
  flinkPerMillionEventsAt1kPerSec: 0.06,
} as const;

export const LAMBDA_MEMORY_GB = 0.5;
/** Events in a 30-day month at 1,000 events/s, in millions. */
export const MILLION_EVENTS_PER_MONTH_AT_1K = (1_000 * 30 * 24 * 3600) / 1e6;

export interface BatchCostInput {
  /** Records per Lambda invocation (one Kinesis batch). */
  readonly batchSize: number;
  readonly wcuPerBatch: number;
  readonly rcuPerBatch: number;
  readonly durationMsPerBatch: number;
}

export interface CostPerMillion {
  invocations: number;
  dynamoWrites: number;
  dynamoReads: number;
  lambdaRequests: number;
  lambdaDuration: number;
  total: number;
}

/** Cost of one million events when each batch of `batchSize` records costs what was measured. */
export function costPerMillionEvents(c: BatchCostInput): CostPerMillion {
  const invocations = 1e6 / c.batchSize;
  const dynamoWrites = invocations * c.wcuPerBatch * PRICES.dynamoWru;
  const dynamoReads = invocations * c.rcuPerBatch * PRICES.dynamoRru;
  const lambdaRequests = invocations * PRICES.lambdaRequest;
  const lambdaDuration = invocations * (c.durationMsPerBatch / 1000) * LAMBDA_MEMORY_GB * PRICES.lambdaGbSecond;
  return { invocations, dynamoWrites, dynamoReads, lambdaRequests, lambdaDuration, total: dynamoWrites + dynamoReads + lambdaRequests + lambdaDuration };
}
