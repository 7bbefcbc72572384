import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type ICommandHooks } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * The root of this package (holds `lambdas/`, `policies/` and, in a checkout, `package-lock.json`),
 * resolved from this module's own location: the handlers are found wherever the package is
 * installed, whatever the caller's working directory.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The lock file esbuild bundling is pinned to: the package's own in a checkout; where the package is
 * installed as a dependency (npm does not publish lock files), the nearest one above it.
 */
function findLockFile(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    for (const name of ['package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lockb'])
      if (existsSync(join(dir, name))) return join(dir, name);
    if (dirname(dir) === dir) return undefined;
  }
}
const LOCK_FILE = findLockFile(PACKAGE_ROOT);

/**
 * A file the bundle needs, as a path from the package root (`node_modules/<pkg>/...`). Where the
 * dependency was hoisted above the package (installed as a dependency), its absolute path.
 */
function packageFile(file: string): { readonly relative: string } | { readonly absolute: string } {
  if (existsSync(join(PACKAGE_ROOT, file)) || !file.startsWith('node_modules/')) return { relative: file };
  for (let dir = dirname(PACKAGE_ROOT); dirname(dir) !== dir; dir = dirname(dir)) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) return { absolute: candidate };
  }
  return { relative: file };
}

/**
 * Props of {@link HandlerFunction}.
 * @example
 * const fn = new HandlerFunction(this, 'Handler', {
 *   entry: 'lambdas/handlers/stream-consumer.ts',
 *   description: 'anomaly-guard: folds record batches into window state',
 *   environment: {},
 *   memorySizeMb: 512,
 *   timeoutSeconds: 60,
 *   logRetentionDays: 30,
 * });
 */
export interface HandlerFunctionProps {
  /**
   * Path of the handler module from the package root ({@link PACKAGE_ROOT}), e.g.
   * `lambdas/handlers/stream-consumer.ts`.
   */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
  readonly logRetentionDays: number;
  readonly removalPolicy?: RemovalPolicy;
  /** Files the bundle needs next to it (e.g. a WebAssembly module), as paths from the package root. */
  readonly copyFiles?: readonly string[];
}

/**
 * One of our Lambda handlers: Node.js 22 on arm64, bundled by the local esbuild as ESM with the AWS
 * SDK pinned, X-Ray tracing, its own log group with retention, and its own role that can write only
 * to that log group. Grants are added by the construct that owns the function.
 */
export class HandlerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Own role instead of AWSLambdaBasicExecutionRole: that managed policy allows writing to any log group.
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);

    const copy = (props.copyFiles ?? []).map(packageFile);
    const commandHooks: ICommandHooks | undefined = copy.length
      ? {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) =>
            copy.map((f) => `cp "${'relative' in f ? join(inputDir, f.relative) : f.absolute}" "${outputDir}/"`),
        }
      : undefined;

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PACKAGE_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PACKAGE_ROOT,
      ...(LOCK_FILE && { depsLockFilePath: LOCK_FILE }),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySizeMb,
      timeout: Duration.seconds(props.timeoutSeconds),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      description: props.description,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: 'anomaly-guard',
        POWERTOOLS_METRICS_NAMESPACE: 'AnomalyGuard',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        // CommonJS dependencies in an ESM bundle still call require() and read __dirname.
        banner:
          "import { createRequire } from 'module'; import { fileURLToPath as __agFileUrl } from 'url'; import { " +
          "dirname as __agDirname } from 'path'; const require = createRequire(import.meta.url); const __filename " +
          '= __agFileUrl(import.meta.url); const __dirname = __agDirname(__filename);',
        // Bundle the AWS SDK too: the handler runs on exactly the client versions pinned in
        // package-lock.json (the ones the tests ran against), not on whatever the runtime ships.
        bundleAwsSDK: true,
        externalModules: [],
        ...(commandHooks && { commandHooks }),
      },
    });

    Validations.of(this.function.node.defaultChild as CfnResource).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is pinned on purpose: a Lambda-supported LTS runtime the design fixes, and the same handler ' +
        'code must run on the Node 20 local runtime; moving to nodejs24.x is a deliberate, tested change.',
    });
  }

  /**
   * X-Ray's two write actions support no resource-level permissions; acknowledge exactly that on this role's policy.
   */
  acknowledgeXRayWildcard(): void {
    const rolePolicy = this.role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource;
    Validations.of(rolePolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only xray:PutTraceSegments/PutTelemetryRecords (added by Tracing.ACTIVE) use Resource "*": X-Ray supports ' +
        'no resource-level permissions for these actions.',
    });
  }
}
