/** An in-process dynalite with a DynamoDB client that counts requests and consumed capacity per operation. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { synthTemplate } from '../lib/synth.js';
import { createTablesFromTemplate, localDynamoClient, type CfnTemplate } from '../local/stand-ins.js';
import { meterConsumedCapacity } from '../local/usage-meter.js';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (opts: object) => Server;
const dynaliteDb = require('dynalite/db') as { itemSize(item: Record<string, AttributeValue>): number };

/** Operations that write; everything else is a read or control-plane call. */
export const WRITE_OPERATIONS = [
  'PutItem',
  'BatchWriteItem',
  'UpdateItem',
  'DeleteItem',
  'TransactWriteItems',
] as const;

export interface RequestCounters {
  /**
   * Requests per DynamoDB operation as the adapters send them (a re-send of unprocessed items counts; SDK-internal
   * retries do not).
   */
  requests: Record<string, number>;
  /** Items carried by write requests (a BatchWriteItem carries up to 25). */
  itemsWritten: number;
  /** Consumed capacity reported by DynamoDB, per operation. */
  capacity: Record<string, number>;
}

export interface LocalDynamo {
  readonly client: DynamoDBClient;
  readonly counters: RequestCounters;
  reset(): void;
  /** The state table as the synthesized template declares it, under `prefix`; returns its name. */
  createStateTable(prefix: string): Promise<string>;
  /** Every item of `table` whose pk starts with `prefix` (a scan). */
  items(table: string, prefix: string): Promise<Record<string, AttributeValue>[]>;
  /** DynamoDB's own item size (attribute names + values) of every item whose pk starts with `prefix`. */
  itemSizes(table: string, prefix: string): Promise<number[]>;
  close(): Promise<void>;
}

const utf8 = new TextDecoder();
const emptyCounters = (): RequestCounters => ({ requests: {}, itemsWritten: 0, capacity: {} });

export async function startLocalDynamo(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = localDynamoClient(endpoint);
  let counters = emptyCounters();
  const scanItems = async (table: string, prefix: string) => {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) if (item.pk?.S?.startsWith(prefix)) items.push(item);
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };

  // Every data-plane call's consumed capacity, as the local runtime meters it.
  meterConsumedCapacity(client, (op, units) => {
    counters.capacity[op] = (counters.capacity[op] ?? 0) + units;
  });
  // Count requests after serialisation (the build step runs once per send, before the SDK's retry loop).
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const op = request.headers?.['x-amz-target']?.split('.')[1];
      if (op) {
        counters.requests[op] = (counters.requests[op] ?? 0) + 1;
        if ((WRITE_OPERATIONS as readonly string[]).includes(op)) {
          const text =
            typeof request.body === 'string'
              ? request.body
              : request.body instanceof Uint8Array
                ? utf8.decode(request.body)
                : undefined;
          if (op === 'BatchWriteItem' && text !== undefined) {
            const body = JSON.parse(text) as { RequestItems: Record<string, unknown[]> };
            counters.itemsWritten += Object.values(body.RequestItems).reduce((t, l) => t + l.length, 0);
          } else counters.itemsWritten++;
        }
      }
      return next(args);
    },
    { step: 'build', name: 'benchCountRequests' },
  );

  return {
    client,
    get counters() {
      return counters;
    },
    reset() {
      counters = emptyCounters();
    },
    async createStateTable(prefix) {
      const tables = await createTablesFromTemplate(
        client,
        synthTemplate({}, { bundle: false, nag: false }) as CfnTemplate,
        prefix,
      );
      return [...tables.values()][0]!;
    },
    items: scanItems,
    async itemSizes(table, prefix) {
      return (await scanItems(table, prefix)).map((item) => dynaliteDb.itemSize(item));
    },
    async close() {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
