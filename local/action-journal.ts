import { writeFileSync } from 'node:fs';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbActionLedger } from '../lambdas/adapters/action-ledger.js';
import type { JournalEntry } from '../lambdas/core/ports/action-ledger.js';

/**
 * Writes every episode's action journal (intent, applied, rolled back) to `file` as JSON lines,
 * episode by episode, oldest first: the local run's record of what mitigation did, to compare with
 * the flags and events. A local table is small enough to scan for the ledger partitions.
 */
export async function writeActionJournal(dynamo: DynamoDBClient, tableName: string, file: string): Promise<number> {
  const episodes = new Set<string>();
  let start: Record<string, never> | undefined;
  do {
    const out = await dynamo.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: 'pk',
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': { S: 'ledger#' } },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) episodes.add(item.pk!.S!.slice('ledger#'.length));
    start = out.LastEvaluatedKey as typeof start;
  } while (start);
  const ledger = new DynamoDbActionLedger(dynamo, tableName);
  const lines: string[] = [];
  for (const episode of [...episodes].sort()) {
    for (const entry of await ledger.journal(episode))
      lines.push(JSON.stringify({ episode, ...entry } satisfies JournalEntry & { episode: string }));
  }
  writeFileSync(file, lines.length ? `${lines.join('\n')}\n` : '');
  return lines.length;
}
