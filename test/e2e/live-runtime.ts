import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocal } from '../../local/runtime.js';

export interface LiveRuntime {
  /** Where the operator API and the dashboard are served. */
  base: string;
  /** The runtime's log so far. */
  lines: string[];
  out: string;
  /** Ctrl-C: ends the live workload and waits for the runtime to shut down. */
  stop(): Promise<void>;
}

export interface LiveRuntimeOptions {
  /** Simulated minutes of the default scenario before the live workload (default 120). */
  minutes?: number;
}

/** `npm start` without --once: the default scenario, then the live workload with the API served on a free port. */
export async function startLiveRuntime(prefix: string, opts: LiveRuntimeOptions = {}): Promise<LiveRuntime> {
  const out = mkdtempSync(join(tmpdir(), prefix));
  const abort = new AbortController();
  const lines: string[] = [];
  let resolveUrl!: (u: string) => void;
  const served = new Promise<string>((r) => (resolveUrl = r));
  const running = runLocal({
    scenario: 'default',
    once: false,
    out,
    port: 0,
    minutes: opts.minutes ?? 120,
    chunk: 500,
    log: (l) => lines.push(l),
    signal: abort.signal,
    onServing: resolveUrl,
  });
  const stop = async () => {
    abort.abort();
    await running;
  };
  try {
    const base = await Promise.race([
      served,
      running.then(() => Promise.reject(new Error(`runLocal ended before serving:\n${lines.join('\n')}`))),
    ]);
    return { base, lines, out, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
