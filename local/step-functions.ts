import type { Context } from 'aws-lambda';
import type { Anomaly } from '../lambdas/core/anomaly.js';
import { executionName, executionNameOfHash, mitigationInput } from '../lambdas/adapters/mitigation-starter.js';
import type {
  ExecutionStatus,
  MitigationControl,
  MitigationTimings,
} from '../lambdas/core/ports/mitigation-starter.js';
import type { WorkflowState } from '../lambdas/usecases/mitigation-steps.js';
import type { MitigationTaskEvent } from '../lambdas/handlers/mitigation-workflow.js';
import { onlyResource, type CfnTemplate } from './stand-ins.js';

// aws-local-stepfunctions needs Promise.withResolvers, which Node 20 lacks (Node 22 has it).
const P = Promise as unknown as {
  withResolvers?: <T>() => { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void };
};
P.withResolvers ??= <T>() => {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

type Definition = { StartAt: string; States: Record<string, { Type: string; Resource?: string }> };

/**
 * The state machine definition exactly as synthesized: the template's DefinitionString is a
 * Fn::Join whose tokens are the task Lambdas' ARNs; locally they become placeholder ARNs, since
 * every Task state is overridden to call the handler module in-process.
 */
export function definitionFromTemplate(template: CfnTemplate): Definition {
  const [, machine] = onlyResource(template, 'AWS::StepFunctions::StateMachine');
  const def = machine.Properties?.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof def === 'string'
      ? def
      : def['Fn::Join'][1]
          .map((part) =>
            typeof part === 'string'
              ? part
              : `arn:aws:lambda:us-east-1:000000000000:function:` +
                `${Object.values(part as Record<string, unknown[]>)[0]?.[0] ?? 'local'}`,
          )
          .join(def['Fn::Join'][0]);
  return JSON.parse(text) as Definition;
}

export interface LocalExecution {
  name: string;
  anomaly: Anomaly;
  /** The execution input, as StartExecution would have received it. */
  input: unknown;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startedAt: number;
  stoppedAt?: number;
  result?: WorkflowState;
  error?: string;
  /** Names of the Task states entered, in order. */
  path: string[];
  /** Every state entered (Task, Choice, Wait, ...): Step Functions Standard bills per state transition. */
  transitions: number;
}

export interface LocalStepFunctionsOptions {
  template: CfnTemplate;
  /** The task Lambda's handler (the same module the deployed function runs). */
  handler: (event: MitigationTaskEvent, context: Context) => Promise<WorkflowState>;
  timings: MitigationTimings;
  onTransition?: (execution: LocalExecution, state: string) => void;
  /** The clock of executions' start and stop dates (the local runtime's event time). */
  now?: () => number;
}

/**
 * The local stand-in for Step Functions: runs the synthesized ASL with aws-local-stepfunctions, every
 * Task state mapped to the task handler, and implements the same start-once-per-episode contract.
 */
export class LocalStepFunctions implements MitigationControl {
  readonly executions = new Map<string, LocalExecution>();
  private readonly running = new Set<Promise<void>>();
  private readonly aborts = new Map<string, () => void>();
  /** What every execution's input carries (the API's dry run plans with the same). */
  readonly timings: MitigationTimings;
  private readonly definition: Definition;
  private readonly now: () => number;

  constructor(private readonly opts: LocalStepFunctionsOptions) {
    this.timings = opts.timings;
    this.now = opts.now ?? Date.now;
    this.definition = definitionFromTemplate(opts.template);
  }

  async start(
    anomaly: Anomaly,
    o: { automatic?: boolean; requestedPlan?: string } = {},
  ): Promise<{ execution: string; started: boolean }> {
    const name = executionName(anomaly);
    if (this.executions.has(name)) return { execution: name, started: false };
    const execution: LocalExecution = {
      name,
      anomaly,
      input: mitigationInput(anomaly, this.opts.timings, o),
      status: 'RUNNING',
      startedAt: this.now(),
      path: [],
      transitions: 0,
    };
    this.executions.set(name, execution);
    const run = this.run(execution, execution.input).finally(() => this.running.delete(run));
    this.running.add(run);
    return { execution: name, started: true };
  }

  async describe(hash: string): Promise<{ execution: string; status: ExecutionStatus } | undefined> {
    const x = this.executions.get(executionNameOfHash(hash));
    return x && { execution: x.name, status: x.status };
  }

  async stop(hash: string, cause: string): Promise<boolean> {
    const name = executionNameOfHash(hash);
    const x = this.executions.get(name);
    const abort = this.aborts.get(name);
    if (x?.status !== 'RUNNING' || !abort) return false;
    x.error = `OperatorRollback: ${cause}`;
    abort();
    return true;
  }

  /** Resolves when every execution started so far has ended. */
  async drain(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  private async run(execution: LocalExecution, input: unknown): Promise<void> {
    const { StateMachine } = await import('aws-local-stepfunctions');
    const machine = new StateMachine(this.definition as never, {
      validationOptions: { checkArn: false, checkPaths: false },
    });
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of Object.entries(this.definition.States)) {
      if (state.Type !== 'Task') continue;
      handlers[stateName] = async (taskInput) => {
        execution.path.push(stateName);
        this.opts.onTransition?.(execution, stateName);
        const context = {
          functionName: 'mitigation-workflow',
          awsRequestId: `${execution.name}:${execution.path.length}`,
        } as unknown as Context;
        // Stopping an execution does not stop a task invocation already under way (in AWS neither):
        // drain() waits for it to finish what it does, e.g. undo an action applied after a halt.
        const invocation = this.opts.handler(taskInput as MitigationTaskEvent, context);
        const tracked = invocation.then(
          () => undefined,
          () => undefined,
        );
        this.running.add(tracked);
        void tracked.finally(() => this.running.delete(tracked));
        return invocation;
      };
    }
    try {
      const { result, eventLogs, abort } = machine.run(input as never, {
        overrides: { taskResourceLocalHandlers: handlers as never },
      });
      this.aborts.set(execution.name, abort);
      const counted = (async () => {
        for await (const event of eventLogs)
          if ((event as { type: string }).type === 'StateEntered') execution.transitions++;
      })();
      execution.result = (await result) as unknown as WorkflowState;
      await counted;
      execution.status = 'SUCCEEDED';
    } catch (e) {
      if (execution.error?.startsWith('OperatorRollback')) execution.status = 'ABORTED';
      else {
        execution.status = 'FAILED';
        execution.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
    } finally {
      this.aborts.delete(execution.name);
      execution.stoppedAt = this.now();
      this.opts.onTransition?.(execution, execution.status);
    }
  }
}
