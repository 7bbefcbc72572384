/**
 * A minimal, event-time walker over the synthesized mitigation state machine (ASL), for replaying
 * executions in simulated time: Task states call the given task function with their `op` (and
 * `outcome`) parameter, as the task Lambda receives them; Wait states advance the simulated clock by
 * their `Seconds`/`SecondsPath`; Choice rules are evaluated on the execution data. Every state
 * entered is one state transition (what Step Functions Standard bills).
 *
 * Supports what the mitigation workflow uses: Task (Parameters with `op`, whole-state output,
 * Catch with ResultPath; a `.waitForTaskToken` task calls the task function, then waits for `answer`, by default
 * until its TimeoutSecondsPath passes: States.Timeout), Choice (BooleanEquals, StringEquals, NumericGreaterThan,
 * NumericEquals, IsPresent), Wait (Seconds, SecondsPath), Pass, Succeed, Fail. Anything else throws, so a change
 * to the workflow cannot be walked silently wrong.
 */
import { synthTemplate } from '../../lib/synth.js';
import { definitionFromTemplate } from '../../local/step-functions.js';
import type { CfnTemplate } from '../../local/stand-ins.js';

export interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Parameters?: Record<string, unknown>;
  Catch?: { ErrorEquals: string[]; ResultPath?: string; Next: string }[];
  Choices?: AslChoice[];
  Default?: string;
  Seconds?: number;
  SecondsPath?: string;
  Resource?: string;
  ResultPath?: string;
  TimeoutSecondsPath?: string;
}

export interface AslChoice {
  Variable?: string;
  Next: string;
  BooleanEquals?: boolean;
  StringEquals?: string;
  NumericGreaterThan?: number;
  NumericEquals?: number;
  IsPresent?: boolean;
}

export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
}

/** The state machine definition as `cdk synth` produces it today (in-process synth, no bundling, no nag). */
export function synthesizedMitigationDefinition(): AslDefinition {
  return definitionFromTemplate(
    synthTemplate({}, { bundle: false, nag: false }) as CfnTemplate,
  ) as unknown as AslDefinition;
}

export interface WalkResult<S> {
  /** Every state entered, in order. */
  path: string[];
  /** = path.length: state transitions billed. */
  transitions: number;
  /** The terminal state's type. */
  end: 'Succeed' | 'Fail';
  /** Name of the terminal state. */
  endState: string;
  state: S;
}

export interface WalkClock {
  now(): number;
  advance(ms: number): void;
}

/** JSONPath of the simple `$.a.b` form. */
function read(data: unknown, path: string): unknown {
  if (path === '$') return data;
  if (!path.startsWith('$.')) throw new Error(`unsupported JSONPath ${path}`);
  let cur: unknown = data;
  for (const part of path.slice(2).split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function write<S>(data: S, path: string, value: unknown): S {
  if (!path.startsWith('$.') || path.slice(2).includes('.')) throw new Error(`unsupported ResultPath ${path}`);
  return { ...(data as object), [path.slice(2)]: value } as S;
}

function matches(rule: AslChoice, data: unknown): boolean {
  const known = [
    'Variable',
    'Next',
    'BooleanEquals',
    'StringEquals',
    'NumericGreaterThan',
    'NumericEquals',
    'IsPresent',
  ];
  const unknown = Object.keys(rule).filter((k) => !known.includes(k));
  if (unknown.length || !rule.Variable) throw new Error(`unsupported Choice rule ${JSON.stringify(rule)}`);
  const v = read(data, rule.Variable);
  if (rule.IsPresent !== undefined) return (v !== undefined) === rule.IsPresent;
  if (rule.BooleanEquals !== undefined) return v === rule.BooleanEquals;
  if (rule.StringEquals !== undefined) return v === rule.StringEquals;
  if (rule.NumericGreaterThan !== undefined) return typeof v === 'number' && v > rule.NumericGreaterThan;
  if (rule.NumericEquals !== undefined) return typeof v === 'number' && v === rule.NumericEquals;
  throw new Error(`unsupported Choice rule ${JSON.stringify(rule)}`);
}

/**
 * Run one execution through the definition. `task` gets the Task state's parameters (`op`,
 * `outcome`, ...; `state.$: "$"` is the whole execution data) and returns the new data (the task
 * Lambda's payload replaces the state, as `payloadResponseOnly` does).
 */
export async function walkStateMachine<S>(
  definition: AslDefinition,
  input: S,
  task: (params: Record<string, unknown>, state: S, stateName: string) => Promise<S>,
  clock: WalkClock,
  maxTransitions = 500,
  /**
   * How a person answers a task that waits for its token: the output to resume with and after how many seconds, or
   * undefined for no answer (the task times out). Default: nobody answers.
   */
  answer: (
    params: Record<string, unknown>,
    state: S,
  ) => Promise<{ output: unknown; afterSeconds: number } | undefined> = async () => undefined,
): Promise<WalkResult<S>> {
  let data = input;
  let name = definition.StartAt;
  const path: string[] = [];
  for (;;) {
    if (path.length >= maxTransitions)
      throw new Error(`more than ${maxTransitions} transitions: ${path.slice(-10).join(' → ')}`);
    const s = definition.States[name];
    if (!s) throw new Error(`state ${name} is not in the definition`);
    path.push(name);
    let next: string | undefined;
    switch (s.Type) {
      case 'Task': {
        const waits = s.Resource?.endsWith('.waitForTaskToken') === true;
        const params: Record<string, unknown> = {};
        const given = (waits ? s.Parameters?.Payload : s.Parameters) as Record<string, unknown> | undefined;
        for (const [k, v] of Object.entries(given ?? {})) {
          if (v === '$$.Task.Token') params[k.slice(0, -2)] = `token:${name}:${path.length}`;
          else if (k.endsWith('.$')) params[k.slice(0, -2)] = read(data, v as string);
          else params[k] = v;
        }
        try {
          if (waits) {
            await task(params, data, name);
            const a = await answer(params, data);
            const timeout = read(data, s.TimeoutSecondsPath ?? '') as number;
            if (!a || a.afterSeconds >= timeout) {
              clock.advance(timeout * 1000);
              throw Object.assign(new Error(`no answer within ${timeout} s`), { name: 'States.Timeout' });
            }
            clock.advance(a.afterSeconds * 1000);
            data = s.ResultPath ? write(data, s.ResultPath, a.output) : (a.output as S);
          } else data = await task(params, data, name);
          next = s.Next;
        } catch (e) {
          const err = e as Error;
          // Catchers are tried in order, as Step Functions does.
          const c = s.Catch?.find((x) => x.ErrorEquals.includes('States.ALL') || x.ErrorEquals.includes(err.name));
          if (!c) throw e;
          if (c.ResultPath) data = write(data, c.ResultPath, { Error: err.name, Cause: err.message });
          next = c.Next;
        }
        break;
      }
      case 'Choice':
        next = (s.Choices ?? []).find((r) => matches(r, data))?.Next ?? s.Default;
        if (!next) throw new Error(`Choice ${name} matched no rule and has no Default`);
        break;
      case 'Wait': {
        const seconds = s.Seconds ?? (s.SecondsPath ? read(data, s.SecondsPath) : undefined);
        if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
          throw new Error(`Wait ${name}: no seconds (${String(seconds)})`);
        clock.advance(seconds * 1000);
        next = s.Next;
        break;
      }
      case 'Pass':
        next = s.Next;
        break;
      case 'Succeed':
      case 'Fail':
        return { path, transitions: path.length, end: s.Type, endState: name, state: data };
      default:
        throw new Error(`unsupported state type ${s.Type} (${name})`);
    }
    if (!next) {
      if (s.End) return { path, transitions: path.length, end: 'Succeed', endState: name, state: data };
      throw new Error(`state ${name} has no Next`);
    }
    name = next;
  }
}
