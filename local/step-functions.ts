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
import type { TaskTokenResponder } from '../lambdas/core/ports/approval-store.js';
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

type Definition = {
  StartAt: string;
  States: Record<
    string,
    { Type: string; Resource?: string; TimeoutSecondsPath?: string; Parameters?: Record<string, unknown> }
  >;
};

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

/**
 * Step Functions resolves a Task's TimeoutSecondsPath against the state's input; aws-local-stepfunctions resolves it
 * against the input after Parameters (here `{ FunctionName, Payload: { op, state, taskToken } }`). For a task whose
 * Payload passes the whole state (`state.$: "$"`), the same value is at `$.Payload.state…`: point the path there.
 */
function timeoutPathsOnTaskInput(definition: Definition): Definition {
  const states = Object.fromEntries(
    Object.entries(definition.States).map(([name, st]) => {
      const payload = st.Parameters?.Payload as Record<string, unknown> | undefined;
      if (!st.TimeoutSecondsPath?.startsWith('$.') || payload?.['state.$'] !== '$') return [name, st];
      return [name, { ...st, TimeoutSecondsPath: `$.Payload.state${st.TimeoutSecondsPath.slice(1)}` }];
    }),
  );
  return { ...definition, States: states };
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
 * aws-local-stepfunctions has no `.waitForTaskToken`: such a Task is emulated here as AWS runs it (the
 * handler is invoked with a fresh token, then the state waits for SendTaskSuccess on that token, or
 * its TimeoutSecondsPath, which the library enforces as States.Timeout).
 */
export class LocalStepFunctions implements MitigationControl, TaskTokenResponder {
  readonly executions = new Map<string, LocalExecution>();
  private readonly running = new Set<Promise<void>>();
  private readonly aborts = new Map<string, () => void>();
  /** Tasks waiting on their token: SendTaskSuccess resolves them. */
  private readonly waiting = new Map<string, (output: Record<string, unknown>) => void>();
  private tokens = 0;
  /** What every execution's input carries (the API's dry run plans with the same). */
  readonly timings: MitigationTimings;
  private readonly definition: Definition;
  private readonly now: () => number;

  constructor(private readonly opts: LocalStepFunctionsOptions) {
    this.timings = opts.timings;
    this.now = opts.now ?? Date.now;
    this.definition = timeoutPathsOnTaskInput(definitionFromTemplate(opts.template));
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

  /** StopExecution on every running execution (the local runtime is shutting down); they end ABORTED. */
  stopAll(cause: string): void {
    for (const [name, abort] of this.aborts) {
      const x = this.executions.get(name);
      if (x?.status !== 'RUNNING') continue;
      x.error = `Stopped: ${cause}`;
      abort();
    }
  }

  /** SendTaskSuccess: resumes the task waiting on `token`, if one still does. */
  async succeed(token: string, output: Record<string, unknown>): Promise<'delivered' | 'expired'> {
    const resume = this.waiting.get(token);
    if (!resume) return 'expired';
    this.waiting.delete(token);
    resume(output);
    return 'delivered';
  }

  /** Resolves when every execution has ended or waits on a task token (for a person), and no task is running. */
  async idle(): Promise<void> {
    const waits = (x: LocalExecution) => [...this.waiting.keys()].some((t) => t.startsWith(`local-${x.name}-`));
    while ([...this.executions.values()].some((x) => x.status === 'RUNNING' && !waits(x)))
      await new Promise((r) => setTimeout(r, 50));
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
      const waitsForToken = state.Resource?.endsWith('.waitForTaskToken') === true;
      handlers[stateName] = async (taskInput) => {
        execution.path.push(stateName);
        this.opts.onTransition?.(execution, stateName);
        const context = {
          functionName: 'mitigation-workflow',
          awsRequestId: `${execution.name}:${execution.path.length}`,
        } as unknown as Context;
        // A waitForTaskToken task's parameters are the lambda:invoke integration's { FunctionName, Payload }.
        const event = (waitsForToken ? (taskInput as { Payload: unknown }).Payload : taskInput) as MitigationTaskEvent;
        const token = waitsForToken ? `local-${execution.name}-${++this.tokens}` : undefined;
        const resumed =
          token === undefined
            ? undefined
            : new Promise<Record<string, unknown>>((resolve) => {
                this.waiting.set(token, resolve);
                // The library rejects the task with States.Timeout at TimeoutSecondsPath; the token dies with it.
                const seconds = Number(event.state.input?.approvalTimeoutSeconds);
                if (Number.isFinite(seconds)) setTimeout(() => this.waiting.delete(token), seconds * 1000).unref();
              });
        // Stopping an execution does not stop a task invocation already under way (in AWS neither):
        // drain() waits for it to finish what it does, e.g. undo an action applied after a halt.
        const invocation = this.opts.handler(token === undefined ? event : { ...event, taskToken: token }, context);
        const tracked = invocation.then(
          () => undefined,
          () => undefined,
        );
        this.running.add(tracked);
        void tracked.finally(() => this.running.delete(tracked));
        if (!resumed) return invocation;
        try {
          await invocation;
          return await resumed;
        } finally {
          // Timed out or stopped: the token is no longer valid (a late SendTaskSuccess gets TaskTimedOut).
          this.waiting.delete(token!);
        }
      };
    }
    try {
      const { result, eventLogs, abort } = machine.run(input as never, {
        overrides: { taskResourceLocalHandlers: handlers as never },
        // `$$.Task.Token` must resolve; the handler above replaces it with a token of its own per task.
        context: { Task: { Token: 'replaced-per-task' } } as never,
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
      if (execution.error?.startsWith('OperatorRollback') || execution.error?.startsWith('Stopped'))
        execution.status = 'ABORTED';
      else {
        execution.status = 'FAILED';
        execution.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
    } finally {
      for (const token of this.waiting.keys())
        if (token.startsWith(`local-${execution.name}-`)) this.waiting.delete(token);
      this.aborts.delete(execution.name);
      execution.stoppedAt = this.now();
      this.opts.onTransition?.(execution, execution.status);
    }
  }
}
