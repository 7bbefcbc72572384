import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAnomalyGuardApp, PROJECT_ROOT } from './anomaly-guard-app.js';

export interface SynthOptions {
  /** Run esbuild for the Lambda assets. Off by default: the template does not depend on the bundle. @default false */
  readonly bundle?: boolean;
  /** Run the cdk-nag validation plugin (throws on any unacknowledged finding). @default true */
  readonly nag?: boolean;
}

/**
 * Synthesize the AnomalyGuard stack in-process and return its CloudFormation template.
 * `context` is deep-merged over cdk.json's "context" (plain objects merge, everything else replaces),
 * so `synthTemplate()` yields what `cdk synth` would.
 */
export function synthTemplate(context: Record<string, unknown> = {}, opts: SynthOptions = {}): Record<string, any> {
  const merged = deepMerge(readCdkJsonContext(), context);
  if (!opts.bundle) merged['aws:cdk:bundling-stacks'] = [];
  const outdir = mkdtempSync(join(tmpdir(), 'anomaly-guard-synth-'));
  try {
    const { app, stack } = createAnomalyGuardApp({ context: merged, outdir, nag: opts.nag });
    return app.synth().getStackArtifact(stack.artifactId).template as Record<string, any>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function readCdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}
