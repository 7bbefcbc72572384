import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { RollbackByKeyEvent, RollbackRequester } from '../core/ports/rollback-requester.js';

export class LambdaRollbackRequester implements RollbackRequester {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
  ) {}

  async request(key: string, requestedBy: string): Promise<void> {
    const event: RollbackByKeyEvent = { op: 'rollback-key', key, requestedBy };
    // Asynchronous: Lambda queues it and retries; rolling back by key twice is harmless.
    const out = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(event)),
      }),
    );
    if (out.StatusCode !== 202)
      throw new Error(`rollback request for ${key} was not queued (status ${out.StatusCode ?? 'none'})`);
  }
}
