import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Serving } from '../../local/live.js';
import { runLocal } from '../../local/runtime.js';

export interface LiveRuntime {
  /** Where the operator API and the dashboard are served. */
  base: string;
  /** The runtime's log so far. */
  lines: string[];
  out: string;
  /** With `auth`: the local pool, its seeded demo users (password, TOTP secret) and the machine key. */
  signIn?: Serving['signIn'];
  /** Ctrl-C: ends the live workload and waits for the runtime to shut down. */
  stop(): Promise<void>;
}

export interface LiveRuntimeOptions {
  /** Simulated minutes of the default scenario before the live workload (default 120). */
  minutes?: number;
  /** Sign-in against the local Cognito stand-in (`npm start`'s default); default off, the open `--no-auth` mode. */
  auth?: boolean;
  /** false: approvals wait for a person (`--no-auto-approve`). */
  autoApprove?: boolean;
  /** cdk.json context overrides (`anomalyGuard.*`) for the synthesized app. */
  context?: Record<string, unknown>;
}

/** `npm start` without --once: the default scenario, then the live workload with the API served on a free port. */
export async function startLiveRuntime(prefix: string, opts: LiveRuntimeOptions = {}): Promise<LiveRuntime> {
  const out = mkdtempSync(join(tmpdir(), prefix));
  const abort = new AbortController();
  const lines: string[] = [];
  let resolveUrl!: (u: { url: string; serving: Serving }) => void;
  const served = new Promise<{ url: string; serving: Serving }>((r) => (resolveUrl = r));
  const running = runLocal({
    scenario: 'default',
    once: false,
    out,
    port: 0,
    minutes: opts.minutes ?? 120,
    chunk: 500,
    log: (l) => lines.push(l),
    signal: abort.signal,
    onServing: (url, serving) => resolveUrl({ url, serving }),
    auth: opts.auth ?? false,
    ...(opts.autoApprove !== undefined && { autoApprove: opts.autoApprove }),
    ...(opts.context && { context: opts.context }),
  });
  const stop = async () => {
    abort.abort();
    await running;
  };
  try {
    const { url: base, serving } = await Promise.race([
      served,
      running.then(() => Promise.reject(new Error(`runLocal ended before serving:\n${lines.join('\n')}`))),
    ]);
    return { base, lines, out, stop, ...(serving.signIn && { signIn: serving.signIn }) };
  } catch (e) {
    await stop();
    throw e;
  }
}
