import { App, Validations, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AnomalyGuardStack } from './anomaly-guard-stack.js';
import { resolveConfig, type AnomalyGuardConfig } from './config.js';
import { PACKAGE_ROOT } from './handler-function.js';

/** Repository root (holds cdk.json, package-lock.json and lambdas/), independent of the caller's cwd. */
export const PROJECT_ROOT = PACKAGE_ROOT;

export const STACK_ID = 'AnomalyGuard';

export interface AnomalyGuardAppOptions {
  /** App context. The CDK CLI passes cdk.json's context itself; in-process callers pass it here. */
  readonly context?: Record<string, unknown>;
  readonly env?: Environment;
  readonly outdir?: string;
  /** Register the cdk-nag AwsSolutions validation plugin. @default true */
  readonly nag?: boolean;
}

export interface AnomalyGuardApp {
  readonly app: App;
  readonly stack: AnomalyGuardStack;
  readonly config: AnomalyGuardConfig;
}

/**
 * This repository's CDK app: the `AnomalyGuard` stack configured from cdk.json context, with the
 * cdk-nag AwsSolutions checks. The one place the app is composed: bin/app.ts and synthTemplate() both call this.
 */
export function createAnomalyGuardApp(options: AnomalyGuardAppOptions = {}): AnomalyGuardApp {
  const app = new App({ context: options.context, outdir: options.outdir });
  const config = resolveConfig(app.node.tryGetContext('anomalyGuard'));
  const stack = new AnomalyGuardStack(app, STACK_ID, { config, env: options.env });
  // A validation plugin, not an aspect: any unacknowledged finding fails the synth. Acknowledged
  // rules are copied into each resource's Metadata.cdk_nag so the template carries its own audit trail.
  if (options.nag ?? true)
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  return { app, stack, config };
}
