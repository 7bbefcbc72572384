import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { Anomaly } from '../core/anomaly.js';
import { episodeHash } from '../core/mitigation/keys.js';
import type { ExecutionStatus, MitigationControl, MitigationTimings } from '../core/ports/mitigation-starter.js';

export const DEFAULT_MITIGATION_TIMINGS: MitigationTimings = {
  observationSeconds: 900,
  finalCheckSeconds: 2700,
  rollbackIntervalSeconds: 300,
  approvalTimeoutSeconds: 900,
};

/** Deterministic per episode, and a valid execution name. */
export function executionName(anomaly: Pick<Anomaly, 'id'>): string {
  return executionNameOfHash(episodeHash(anomaly.id));
}

/** The execution of the episode a rollback key (`rb-<hash>…`) belongs to. */
export function executionNameOfHash(hash: string): string {
  return `mit-${hash}`;
}

/** The execution input: the workflow's state starts as `{ input }` and grows task by task. */
export function mitigationInput(
  anomaly: Anomaly,
  timings: MitigationTimings,
  opts: { automatic?: boolean; requestedPlan?: string } = {},
) {
  return {
    input: {
      anomaly,
      automatic: opts.automatic ?? true,
      ...(opts.requestedPlan !== undefined && { requestedPlan: opts.requestedPlan }),
      ...timings,
      // The approval task's TimeoutSecondsPath must resolve.
      approvalTimeoutSeconds: timings.approvalTimeoutSeconds ?? DEFAULT_MITIGATION_TIMINGS.approvalTimeoutSeconds!,
    },
  };
}

export class StepFunctionsMitigationStarter implements MitigationControl {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
    private readonly timings: MitigationTimings = DEFAULT_MITIGATION_TIMINGS,
  ) {}

  async start(
    anomaly: Anomaly,
    opts: { automatic?: boolean; requestedPlan?: string } = {},
  ): Promise<{ execution: string; started: boolean }> {
    const name = executionName(anomaly);
    const execution = this.executionArn(episodeHash(anomaly.id));
    try {
      const out = await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(mitigationInput(anomaly, this.timings, opts)),
        }),
      );
      return { execution: out.executionArn ?? execution, started: true };
    } catch (e) {
      // A retried start of the same episode: the execution already runs (or ran).
      if (e instanceof ExecutionAlreadyExists || (e as Error).name === 'ExecutionAlreadyExists')
        return { execution, started: false };
      throw e;
    }
  }

  async describe(hash: string): Promise<{ execution: string; status: ExecutionStatus } | undefined> {
    const executionArn = this.executionArn(hash);
    try {
      const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return { execution: executionArn, status: (out.status ?? 'RUNNING') as ExecutionStatus };
    } catch (e) {
      if (e instanceof ExecutionDoesNotExist || (e as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw e;
    }
  }

  async stop(hash: string, cause: string): Promise<boolean> {
    const current = await this.describe(hash);
    if (current?.status !== 'RUNNING') return false;
    await this.sfn.send(
      new StopExecutionCommand({
        executionArn: current.execution,
        error: 'OperatorRollback',
        cause: cause.slice(0, 32_000),
      }),
    );
    return true;
  }

  private executionArn(hash: string): string {
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionNameOfHash(hash)}`;
  }
}
