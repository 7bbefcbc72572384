import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { TaskTokenResponder } from '../core/ports/approval-store.js';

/** Errors Step Functions answers when the execution no longer waits on the token. */
const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** SendTaskSuccess to the execution waiting on an approval's token. */
export class StepFunctionsTaskResponder implements TaskTokenResponder {
  constructor(private readonly sfn: SFNClient) {}

  async succeed(token: string, output: Record<string, unknown>): Promise<'delivered' | 'expired'> {
    try {
      await this.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
      return 'delivered';
    } catch (e) {
      if (GONE.has((e as Error).name)) return 'expired';
      throw e;
    }
  }
}
