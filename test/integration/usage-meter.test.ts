import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageMeter } from '../../local/usage-meter.js';
import { startHarness, type Harness } from './harness.js';

describe('UsageMeter on dynalite: what each function spends', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it(
    'counts invocations and attributes DynamoDB capacity ' + 'to the handler that spent it, even across awaits',
    async () => {
      const meter = new UsageMeter();
      meter.watch(h.standIns.dynamo);
      const put = (pk: string, bytes: number) =>
        h.standIns.dynamo.send(
          new PutItemCommand({
            TableName: h.table,
            Item: { pk: { S: pk }, sk: { S: 'x' }, blob: { S: 'a'.repeat(bytes) } },
          }),
        );
      const consumer = meter.timed('consumer', async (n: number) => {
        await new Promise((r) => setTimeout(r, 5));
        await put(`k${n}`, 2_500);
        return n;
      });
      const reports = meter.timed('reports', async () =>
        h.standIns.dynamo.send(
          new GetItemCommand({ TableName: h.table, Key: { pk: { S: 'k1' }, sk: { S: 'x' } }, ConsistentRead: true }),
        ),
      );
      expect(await Promise.all([consumer(1), consumer(2), reports()])).toHaveLength(3);
      await h.standIns.dynamo.send(
        new GetItemCommand({ TableName: h.table, Key: { pk: { S: 'k2' }, sk: { S: 'x' } } }),
      );
      const u = meter.usage({ snsPublishes: 2, stateTransitions: 5 });
      expect(u.lambda.consumer!.invocations).toBe(2);
      expect(u.lambda.consumer!.ms).toBeGreaterThanOrEqual(5);
      // A 2.5 KB item costs 3 write units; a strongly consistent read of it 1 read unit, an eventually consistent one
      // half.
      expect(u.dynamodb.consumer).toEqual({ requests: 2, wru: 6, rru: 0 });
      expect(u.dynamodb.reports).toEqual({ requests: 1, wru: 0, rru: 1 });
      expect(u.dynamodb.other).toEqual({ requests: 1, wru: 0, rru: 0.5 });
      expect(u).toMatchObject({ snsPublishes: 2, stateTransitions: 5 });
    },
  );
});
