import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { MINUTE_MS } from '../lambdas/core/time.js';
import { routesFromTemplate, serveApi } from './api-server.js';
import { DEFAULT_LOCAL_DIR } from './machine-key.js';
import { localOperatorApi } from './operator-api.js';
import type { LocalSignIn } from './sign-in.js';
import type { LocalSummary } from './summary.js';
import type { LocalSystem } from './system.js';
import { defaultWorkload, simulateWorkload, type ProducedRecord } from './workload.js';

export interface LiveOptions {
  port: number;
  out: string;
  log: (line: string) => void;
  /** Stops the live phase (besides Ctrl-C). */
  signal?: AbortSignal;
  /** Called once the API serves, with its base URL (and, with sign-in, the local pool and its demo users). */
  onServing?: (url: string, serving: Serving) => void;
  /**
   * Sign-in on the dashboard and the API against a local Cognito stand-in (`npm start`'s default); off (`--no-auth`):
   * open, as before.
   */
  auth?: boolean;
}

/** What `onServing` gets besides the URL. */
export interface Serving {
  /** With sign-in: the local pool, the seeded demo users and the machine key. */
  signIn?: Pick<LocalSignIn, 'config' | 'users' | 'machineKey'>;
}

/**
 * After the scenario: serve the operator API and the dashboard, and stream a live workload (one
 * simulated minute per real second) until Ctrl-C or `signal`; answers the summary once settled.
 */
export async function runLive(sys: LocalSystem, opts: LiveOptions, reportCount: number): Promise<LocalSummary> {
  let liveReports = reportCount;
  const liveSummary = (settled = false) => sys.summary({ drained: true, reportCount: liveReports, settled });
  let server: Server | undefined;
  let signIn: LocalSignIn | undefined;
  try {
    if (opts.auth) {
      const { startLocalSignIn } = await import('./sign-in.js');
      signIn = await startLocalSignIn(opts.out, sys.template);
    }
    server = await serveOperatorApi(sys, opts.port, liveSummary, signIn);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    signIn?.serving(url);
    const routes = routesFromTemplate(sys.template);
    opts.log(
      `serving the operator API on ${url} (${routes.map((r) => `${r.method} ${r.path}`).join(', ')}; status: ` +
        `/v1/local/summary); streaming live workload, Ctrl-C to stop`,
    );
    opts.log(`dashboard: ${url}/`);
    if (signIn) for (const line of signInHelp(signIn, opts.out)) opts.log(line);
    else opts.log('sign-in is off (--no-auth): the dashboard and the API are open to anyone on this machine');
    opts.onServing?.(url, signIn ? { signIn } : {});
    const live = setInterval(() => opts.log(sys.progress()), 5000);
    await streamLiveWorkload(sys, untilStopped(opts.signal));
    clearInterval(live);
    // Executions waiting for a person (--no-auto-approve) do not hold up the stop: close() stops them.
    await sys.settled();
    await sys.reports.drain();
    liveReports = await sys.reports.copyTo(join(opts.out, 'reports'));
    await sys.archiveAll();
    return liveSummary(true);
  } finally {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await signIn?.close();
  }
}

/** Printed once: how to sign in as each demo user. */
function signInHelp(signIn: LocalSignIn, out: string): string[] {
  // The CLI looks in the default data directory; another --out is named.
  const dir = resolve(out) === resolve(DEFAULT_LOCAL_DIR) ? '' : ` --local-dir ${out}`;
  return [
    `sign-in: local Cognito stand-in ${signIn.config.endpoint} (pool ${signIn.config.userPoolId}; ` +
      'password + TOTP code, as in AWS; --no-auth for an open dashboard)',
    ...signIn.users.map(
      (u) =>
        `  ${u.role.padEnd(8)} ${u.email}  password ${u.password}  TOTP secret ${u.totpSecret} ` +
        `(current code: npm run cli -- users code ${u.email}${dir})`,
    ),
    `  more users: npm run cli -- users add <email> --role viewer|operator${dir}; the CLI calls the API with the ` +
      `machine key in ${join(out, 'sign-in.json')} (kept while the runtime runs` +
      `${dir ? `; set ANOMALY_GUARD_LOCAL_DIR=${out} for approve` : ''})`,
  ];
}

function serveOperatorApi(
  sys: LocalSystem,
  port: number,
  summary: () => LocalSummary,
  signIn: LocalSignIn | undefined,
): Promise<Server> {
  const { standIns, tableName, mitigation, reports } = sys;
  const routes = routesFromTemplate(sys.template);
  const handlers = localOperatorApi({
    dynamo: standIns.dynamo,
    tableName,
    stepFunctions: mitigation.stepFunctions,
    mitigationDeps: mitigation.deps,
    targets: mitigation.targets,
    reports: reports.store,
  });
  const dashboard = {
    type: 'text/html; charset=utf-8',
    body: readFileSync(new URL('../dashboard/index.html', import.meta.url), 'utf8'),
  };
  return serveApi({
    port,
    routes,
    handlers,
    extra: { '/v1/local/summary': () => summary() },
    pages: { '/': dashboard },
    ...(signIn && { auth: signIn }),
  });
}

/** Resolves on Ctrl-C or when `signal` aborts. */
function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  let onSigint = () => {};
  return new Promise<void>((r) => {
    onSigint = () => r();
    process.once('SIGINT', onSigint);
    if (signal?.aborted) r();
    signal?.addEventListener('abort', () => r(), { once: true });
  }).finally(() => process.off('SIGINT', onSigint));
}

/** One simulated minute per real second, so windows close and slide visibly, until `stop` resolves. */
async function streamLiveWorkload(sys: LocalSystem, stop: Promise<void>): Promise<void> {
  const stream = simulateWorkload({
    ...defaultWorkload(sys.simTs + MINUTE_MS, Number.POSITIVE_INFINITY),
    seed: 7,
    flags: sys.services.flagsOf,
  });
  let stopped = false;
  void stop.then(() => (stopped = true));
  while (!stopped) {
    const batch: ProducedRecord[] = [];
    const until = sys.simTs + MINUTE_MS;
    for (let r = stream.next(); !r.done; r = stream.next()) {
      batch.push(r.value);
      if (r.value.ts >= until) break;
    }
    await sys.put(batch);
    await sys.services.refresh();
    await Promise.race([stop, new Promise((r) => setTimeout(r, 1000))]);
  }
}
