/** us-east-1 on-demand list prices from docs/architecture.md "What the state costs". */
export const PRICES = {
  /** DynamoDB on-demand, per write request unit (1 per started KB written). */
  dynamoWru: 0.625 / 1e6,
  /**
   * DynamoDB on-demand, per read request unit (1 per started 4 KB, strongly consistent).
   * Not in docs/architecture.md's list; the current us-east-1 on-demand price, shown separately.
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
  return {
    invocations,
    dynamoWrites,
    dynamoReads,
    lambdaRequests,
    lambdaDuration,
    total: dynamoWrites + dynamoReads + lambdaRequests + lambdaDuration,
  };
}

/** Prices of the dimensions the whole pipeline uses besides DynamoDB and Lambda (us-east-1 list). */
export const PIPELINE_PRICES = {
  snsPublish: 0.5 / 1e6,
  stateTransition: 0.025 / 1000,
  kinesisShardHour: 0.015,
  /** One PUT payload unit per started 25 KB record. */
  kinesisPutUnit: 0.014 / 1e6,
} as const;

/** Dollars spent on each line for the usage given (a subset of the local runtime's RuntimeUsage). */
export interface UsageBill {
  dynamoWrites: number;
  dynamoReads: number;
  lambdaRequests: number;
  lambdaDuration: number;
  sns: number;
  stepFunctions: number;
  total: number;
}

export interface MeteredUsage {
  lambda: Readonly<Record<string, { invocations: number; ms: number }>>;
  dynamodb: Readonly<Record<string, { wru: number; rru: number }>>;
  snsPublishes: number;
  stateTransitions: number;
}

/**
 * What `usage` costs at list prices, counting only the functions in `functions` (DynamoDB by the function that spent
 * it).
 */
export function billOf(usage: MeteredUsage, functions: readonly string[]): UsageBill {
  const pick = <T>(m: Readonly<Record<string, T>>) => functions.map((f) => m[f]).filter((x): x is T => x !== undefined);
  const lambda = pick(usage.lambda);
  const dynamo = pick(usage.dynamodb);
  const bill = {
    dynamoWrites: dynamo.reduce((t, d) => t + d.wru, 0) * PRICES.dynamoWru,
    dynamoReads: dynamo.reduce((t, d) => t + d.rru, 0) * PRICES.dynamoRru,
    lambdaRequests: lambda.reduce((t, l) => t + l.invocations, 0) * PRICES.lambdaRequest,
    lambdaDuration: (lambda.reduce((t, l) => t + l.ms, 0) / 1000) * LAMBDA_MEMORY_GB * PRICES.lambdaGbSecond,
    sns: usage.snsPublishes * PIPELINE_PRICES.snsPublish,
    stepFunctions: usage.stateTransitions * PIPELINE_PRICES.stateTransition,
  };
  return { ...bill, total: Object.values(bill).reduce((a, b) => a + b, 0) };
}

/** `bill` scaled from `events` to one million events. */
export function perMillion(bill: UsageBill, events: number): UsageBill {
  return Object.fromEntries(Object.entries(bill).map(([k, v]) => [k, (v / events) * 1e6])) as unknown as UsageBill;
}

/** Kinesis at a steady rate on provisioned shards (1 MB/s or 1,000 records/s each), per million events. */
export function kinesisPerMillion(eventsPerSecond: number, shards: number): { shardHours: number; putUnits: number } {
  const millionPerHour = (eventsPerSecond * 3600) / 1e6;
  return {
    shardHours: (shards * PIPELINE_PRICES.kinesisShardHour) / millionPerHour,
    putUnits: 1e6 * PIPELINE_PRICES.kinesisPutUnit,
  };
}
