import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandlerFunction, type HandlerFunctionProps } from '../../../lib/handler-function.js';
import { arnOf, bareStack, grants, onlyResource, refOf, roleOfFunction, roleStatements } from './helpers.js';

const ENTRY = 'test/infra/constructs/fixtures/echo-handler.ts';
const PROPS: HandlerFunctionProps = {
  entry: ENTRY,
  description: 'test handler',
  environment: { TABLE_NAME: 't', POWERTOOLS_SERVICE_NAME: 'overridden?' },
  memorySizeMb: 384,
  timeoutSeconds: 42,
  logRetentionDays: 14,
};

function synth(props: Partial<HandlerFunctionProps> = {}, tracing = true) {
  const stack = bareStack();
  const h = new HandlerFunction(stack, 'Handler', { ...PROPS, ...props });
  if (tracing) h.acknowledgeXRayWildcard();
  const template = Template.fromStack(stack);
  const functionId = onlyResource(template, 'AWS::Lambda::Function');
  const json = template.toJSON();
  return {
    template,
    json,
    functionId,
    fn: json.Resources[functionId],
    logGroupId: onlyResource(template, 'AWS::Logs::LogGroup'),
  };
}

describe('HandlerFunction (bare stack)', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth();
  });

  it('runs nodejs22.x on arm64 with active tracing and the given sizing and description', () => {
    expect(t.fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
      MemorySize: 384,
      Timeout: 42,
      Description: 'test handler',
    });
  });

  it("adds the Powertools service/namespace and source maps to the environment; the construct's values win", () => {
    expect(t.fn.Properties.Environment.Variables).toEqual({
      TABLE_NAME: 't',
      POWERTOOLS_SERVICE_NAME: 'anomaly-guard',
      POWERTOOLS_METRICS_NAMESPACE: 'AnomalyGuard',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('logs to its own log group with the given retention, retained by default', () => {
    expect(t.fn.Properties.LoggingConfig).toEqual({ LogGroup: refOf(t.logGroupId) });
    expect(t.json.Resources[t.logGroupId]).toMatchObject({
      Properties: { RetentionInDays: 14 },
      DeletionPolicy: 'Retain',
    });
    const destroyed = synth({ removalPolicy: RemovalPolicy.DESTROY });
    expect(destroyed.json.Resources[destroyed.logGroupId].DeletionPolicy).toBe('Delete');
  });

  it(
    'runs as its own role, assumable by Lambda only, with no managed policy: writes to its log group and X-Ray ' +
      'only',
    () => {
      const roleId = roleOfFunction(t.template, t.functionId);
      const role = t.json.Resources[roleId].Properties;
      expect(role.AssumeRolePolicyDocument.Statement).toEqual([
        { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
      expect(role.ManagedPolicyArns ?? []).toEqual([]);
      expect(role.Policies ?? []).toEqual([]);
      expect(grants(roleStatements(t.template, roleId))).toEqual(
        [
          `logs:CreateLogStream ${JSON.stringify(arnOf(t.logGroupId))}`,
          `logs:PutLogEvents ${JSON.stringify(arnOf(t.logGroupId))}`,
          'xray:PutTelemetryRecords "*"',
          'xray:PutTraceSegments "*"',
        ].sort(),
      );
    },
  );
});

describe('HandlerFunction bundling (local esbuild)', () => {
  let outdir: string;
  let assetDir: string;
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'handler-function-test-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'Test');
    new HandlerFunction(stack, 'Handler', {
      ...PROPS,
      copyFiles: ['node_modules/@cedar-policy/cedar-wasm/nodejs/cedar_wasm_bg.wasm'],
    });
    const assembly = app.synth();
    const fn = Object.values(assembly.getStackByName('Test').template.Resources as Record<string, any>).find(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    // The staged asset directory is named by the hash the function's S3 key carries.
    assetDir = join(assembly.directory, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
  }, 120_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles the entry as ESM with a source map and copies copyFiles next to the bundle', () => {
    expect(existsSync(assetDir)).toBe(true);
    expect(readdirSync(assetDir).sort()).toEqual(['cedar_wasm_bg.wasm', 'index.mjs', 'index.mjs.map']);
  });
});
