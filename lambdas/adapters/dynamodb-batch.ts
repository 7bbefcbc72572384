import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchGetCommandOutput,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

const GET_LIMIT = 100;
const WRITE_LIMIT = 25;
const MAX_ROUNDS = 8;

type Item = Record<string, unknown>;

/** BatchGetItem over any number of keys, retrying unprocessed keys with backoff. */
export async function batchGetAll(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: readonly Item[],
  projection?: { expression: string; names: Record<string, string> },
): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += GET_LIMIT) {
    let pending: Item[] | undefined = keys.slice(i, i + GET_LIMIT);
    for (let round = 0; pending?.length; round++) {
      if (round >= MAX_ROUNDS)
        throw new Error(`${table}: ${pending.length} keys still unprocessed after ${MAX_ROUNDS} rounds`);
      if (round > 0) await backoff(round);
      const out: BatchGetCommandOutput = await doc.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: {
              Keys: pending,
              ConsistentRead: true,
              ...(projection && {
                ProjectionExpression: projection.expression,
                ExpressionAttributeNames: projection.names,
              }),
            },
          },
        }),
      );
      items.push(...(out.Responses?.[table] ?? []));
      pending = out.UnprocessedKeys?.[table]?.Keys;
    }
  }
  return items;
}

/** BatchWriteItem puts over any number of items, retrying unprocessed items with backoff. */
export async function batchPutAll(doc: DynamoDBDocumentClient, table: string, items: readonly Item[]): Promise<void> {
  for (let i = 0; i < items.length; i += WRITE_LIMIT) {
    let pending: { PutRequest: { Item: Item } }[] | undefined = items
      .slice(i, i + WRITE_LIMIT)
      .map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; pending?.length; round++) {
      if (round >= MAX_ROUNDS)
        throw new Error(`${table}: ${pending.length} writes still unprocessed after ${MAX_ROUNDS} rounds`);
      if (round > 0) await backoff(round);
      const out: BatchWriteCommandOutput = await doc.send(
        new BatchWriteCommand({ RequestItems: { [table]: pending } }),
      );
      pending = out.UnprocessedItems?.[table] as typeof pending;
    }
  }
}

function backoff(round: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** round)));
}
