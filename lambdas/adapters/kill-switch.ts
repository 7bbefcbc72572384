import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KILL_SWITCH_FLAG, type KillSwitchState } from '../core/ports/kill-switch.js';
import { readFlags, setOperatorFlag } from './targets/index.js';

/**
 * The global pause of automatic mitigation: the platform flag `mitigation.paused` in the flag table.
 * Planning and every escalation decide with it (guardrail `kill-switch`), and the apply task reads it
 * again before each action of an automatic execution (lambdas/usecases/mitigation-steps.ts).
 */
export async function killSwitchState(client: DynamoDBClient, tableName: string): Promise<KillSwitchState> {
  const flag = (await readFlags(client, tableName, '*')).get(KILL_SWITCH_FLAG);
  return { paused: flag?.value === true, setBy: flag?.setBy ?? null, updatedAt: flag ? flag.updatedAt : null };
}

export async function setKillSwitch(
  client: DynamoDBClient,
  tableName: string,
  paused: boolean,
  reason: string,
  now: number,
): Promise<void> {
  await setOperatorFlag(client, tableName, '*', KILL_SWITCH_FLAG, paused ? true : null, `operator: ${reason}`, now);
}
