import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Anomaly } from '../core/anomaly.js';
import { episodeHash } from '../core/mitigation/keys.js';

/** Seed 004 §I defaults: first regression check after 15 min, the final one at 60 min; staged rollback every 5 min. */
export interface MitigationTimings {
  observationSeconds: number;
  finalCheckSeconds: number;
  rollbackIntervalSeconds: number;
}

export const DEFAULT_MITIGATION_TIMINGS: MitigationTimings = { observationSeconds: 900, finalCheckSeconds: 2700, rollbackIntervalSeconds: 300 };

/** Starts the mitigation workflow for an episode, at most once: the execution name is derived from the episode. */
export interface MitigationStarter {
  start(anomaly: Anomaly, opts?: { automatic?: boolean; requestedPlan?: string }): Promise<{ execution: string; started: boolean }>;
}

/** Deterministic per episode, and a valid execution name. */
export function executionName(anomaly: Pick<Anomaly, 'id'>): string {
  return `mit-${episodeHash(anomaly.id)}`;
}

/** The execution input: the workflow's state starts as `{ input }` and grows task by task. */
export function mitigationInput(anomaly: Anomaly, timings: MitigationTimings, opts: { automatic?: boolean; requestedPlan?: string } = {}) {
  return { input: { anomaly, automatic: opts.automatic ?? true, ...(opts.requestedPlan !== undefined && { requestedPlan: opts.requestedPlan }), ...timings } };
}

export class StepFunctionsMitigationStarter implements MitigationStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
    private readonly timings: MitigationTimings = DEFAULT_MITIGATION_TIMINGS,
  ) {}

  async start(anomaly: Anomaly, opts: { automatic?: boolean; requestedPlan?: string } = {}): Promise<{ execution: string; started: boolean }> {
    const name = executionName(anomaly);
    const execution = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    try {
      const out = await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(mitigationInput(anomaly, this.timings, opts)) }));
      return { execution: out.executionArn ?? execution, started: true };
    } catch (e) {
      // A retried start of the same episode: the execution already runs (or ran).
      if (e instanceof ExecutionAlreadyExists || (e as Error).name === 'ExecutionAlreadyExists') return { execution, started: false };
      throw e;
    }
  }
}
