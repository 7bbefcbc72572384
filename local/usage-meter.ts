import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** What one run used of each billed AWS dimension, as the local runtime measured it. */
export interface RuntimeUsage {
  /** Per function: invocations and the wall time of its handler (in-process stand-ins included). */
  lambda: Record<string, { invocations: number; ms: number }>;
  /** Request and capacity units DynamoDB reported, per function that spent them (`other`: outside any handler). */
  dynamodb: Record<string, { requests: number; wru: number; rru: number }>;
  snsPublishes: number;
  /** Step Functions Standard bills per state transition (every state entered). */
  stateTransitions: number;
}

const DATA_OPERATIONS = new Set([
  'PutItem',
  'BatchWriteItem',
  'UpdateItem',
  'DeleteItem',
  'TransactWriteItems',
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'TransactGetItems',
]);
const WRITE_OPERATIONS = new Set(['PutItem', 'BatchWriteItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems']);

type Consumed = { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;

/** Capacity units in a response's ConsumedCapacity (one object, or one per table for batch calls). */
export function capacityUnits(consumed: Consumed): number {
  return (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce(
    (t, c) => t + (c.CapacityUnits ?? 0),
    0,
  );
}

/**
 * Asks DynamoDB for the consumed capacity of every data-plane call and hands it to `record`. This
 * only adds a field to the response; the adapters see what they asked for.
 */
export function meterConsumedCapacity(
  client: DynamoDBClient,
  record: (operation: string, units: number) => void,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = String(context.commandName ?? '').replace(/Command$/, '');
      if (!DATA_OPERATIONS.has(op)) return next(args);
      const input = args.input as Record<string, unknown>;
      const result = await next(
        input.ReturnConsumedCapacity ? args : { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } },
      );
      record(op, capacityUnits((result.output as { ConsumedCapacity?: Consumed }).ConsumedCapacity));
      return result;
    },
    { step: 'initialize', name: 'meterConsumedCapacity' },
  );
}

/**
 * Counts what the local runtime's functions do on the billed dimensions. DynamoDB capacity is
 * attributed to the function whose handler is running (async context), so the simulator's own
 * reads of the flag table are not billed to the system.
 */
export class UsageMeter {
  private readonly lambda = new Map<string, { invocations: number; ms: number }>();
  private readonly dynamo = new Map<string, { requests: number; wru: number; rru: number }>();
  private readonly running = new AsyncLocalStorage<string>();

  watch(client: DynamoDBClient): void {
    meterConsumedCapacity(client, (op, units) => {
      const fn = this.running.getStore() ?? 'other';
      const d = this.dynamo.get(fn) ?? { requests: 0, wru: 0, rru: 0 };
      d.requests++;
      if (WRITE_OPERATIONS.has(op)) d.wru += units;
      else d.rru += units;
      this.dynamo.set(fn, d);
    });
  }

  /** `handler`, counted and timed as the function `name`. */
  timed<A extends unknown[], R>(name: string, handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return (...args) => {
      const started = performance.now();
      const l = this.lambda.get(name) ?? { invocations: 0, ms: 0 };
      l.invocations++;
      this.lambda.set(name, l);
      return this.running.run(name, () => handler(...args)).finally(() => (l.ms += performance.now() - started));
    };
  }

  usage(o: { snsPublishes: number; stateTransitions: number }): RuntimeUsage {
    const round = <T extends Record<string, number>>(v: T) =>
      Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Math.round(x * 10) / 10])) as T;
    return {
      lambda: Object.fromEntries([...this.lambda].map(([k, v]) => [k, round(v)])),
      dynamodb: Object.fromEntries([...this.dynamo].map(([k, v]) => [k, round(v)])),
      ...o,
    };
  }
}
