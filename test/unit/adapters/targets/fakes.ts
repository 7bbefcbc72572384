import { AppConfigClient, ConflictException } from '@aws-sdk/client-appconfig';
import { APIGatewayClient, type UsagePlan } from '@aws-sdk/client-api-gateway';
import { CloudFrontClient, CloudFrontServiceException } from '@aws-sdk/client-cloudfront';
import { WAFOptimisticLockException, WAFV2Client, type WebACL } from '@aws-sdk/client-wafv2';
import type { PlannedAction, PlaybookStep } from '../../../../lambdas/core/mitigation/actions.js';

/**
 * Real SDK v3 clients whose requests are answered by an in-process fake service: a middleware at
 * the very start of the stack records the command name and input and returns the fake's output (or
 * throws the fake's modelled error), so nothing goes to the network. There is no local stand-in for
 * AppConfig, API Gateway, CloudFront or WAF; these fakes model only what the adapters rely on.
 */
export interface Call {
  command: string;
  input: any;
}

type Client = AppConfigClient | APIGatewayClient | CloudFrontClient | WAFV2Client;

function intercept<C extends Client>(client: C, calls: Call[], answer: (command: string, input: any) => unknown): C {
  (client.middlewareStack as any).add(
    (_next: unknown, context: { commandName?: string }) => async (args: { input: any }) => {
      const command = (context.commandName ?? '?').replace(/Command$/, '');
      calls.push({ command, input: structuredClone(args.input) });
      await Promise.resolve(); // let concurrent callers interleave as they would over the network
      const output = await answer(command, args.input);
      return { output: { $metadata: {}, ...(output as object) }, response: {} };
    },
    { step: 'initialize', name: 'fakeService', priority: 'high' },
  );
  return client;
}

const clientConfig = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

export const MUTATING = new Set([
  'UpdateWebACL',
  'UpdateUsagePlan',
  'CreateHostedConfigurationVersion',
  'StartDeployment',
  'CreateInvalidation',
]);
export const mutations = (calls: Call[]) => calls.filter((c) => MUTATING.has(c.command));

let seq = 0;
export function action(
  step: Partial<PlaybookStep> & Pick<PlaybookStep, 'target' | 'flag' | 'value'>,
  over: Partial<PlannedAction> = {},
): PlannedAction {
  const id = step.id ?? `step-${++seq}`;
  return {
    rollbackKey: over.rollbackKey ?? `rb-${id}`,
    episodeId: over.episodeId ?? 'acme#cqs_p95@2026-11-22T10:00Z',
    tenant: over.tenant ?? 'acme',
    ...(over.region !== undefined && { region: over.region }),
    step: { id, title: step.title ?? id, level: step.level ?? 'soft', undo: step.undo ?? 'restore-previous', ...step },
  };
}

// ---------------------------------------------------------------- WAFv2

export class FakeWaf {
  readonly calls: Call[] = [];
  readonly client: WAFV2Client;
  webAcl: WebACL;
  lockToken = 'lock-1';
  /** Make the next N UpdateWebACL calls lose the lock-token race (someone else updated the ACL). */
  conflicts = 0;
  /** Runs (once) when an UpdateWebACL arrives, before it is processed: to interleave another writer. */
  beforeNextUpdate: (() => Promise<void>) | undefined;
  private tokens = 1;

  constructor(webAcl: WebACL) {
    this.webAcl = structuredClone(webAcl);
    this.client = intercept(new WAFV2Client(clientConfig), this.calls, (command, input) => this.answer(command, input));
  }

  limit(rule: string): number | undefined {
    return this.webAcl.Rules?.find((r) => r.Name === rule)?.Statement?.RateBasedStatement?.Limit;
  }

  /** Someone edits the rule limit in the console. */
  setLimit(rule: string, limit: number) {
    this.webAcl.Rules!.find((r) => r.Name === rule)!.Statement!.RateBasedStatement!.Limit = limit;
    this.lockToken = `lock-${++this.tokens}`;
  }

  private async answer(command: string, input: any): Promise<unknown> {
    if (command === 'UpdateWebACL' && this.beforeNextUpdate) {
      const hook = this.beforeNextUpdate;
      this.beforeNextUpdate = undefined;
      await hook();
    }
    if (command === 'GetWebACL') {
      if (input.Name !== this.webAcl.Name || input.Id !== this.webAcl.Id)
        throw new Error(`no web ACL ${input.Name}/${input.Id}`);
      return { WebACL: structuredClone(this.webAcl), LockToken: this.lockToken };
    }
    if (command === 'UpdateWebACL') {
      if (this.conflicts > 0 || input.LockToken !== this.lockToken) {
        if (this.conflicts > 0) {
          this.conflicts--;
          this.lockToken = `lock-${++this.tokens}`;
        }
        throw new WAFOptimisticLockException({
          message:
            'AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it.',
          $metadata: {},
        });
      }
      const { LockToken: _t, Scope: _s, ...rest } = input;
      this.webAcl = { ...structuredClone(rest), ARN: this.webAcl.ARN, Capacity: this.webAcl.Capacity };
      this.lockToken = `lock-${++this.tokens}`;
      return { NextLockToken: this.lockToken };
    }
    throw new Error(`FakeWaf: unexpected ${command}`);
  }
}

// ---------------------------------------------------------------- API Gateway

export class FakeApiGateway {
  readonly calls: Call[] = [];
  readonly client: APIGatewayClient;
  readonly plans = new Map<string, UsagePlan>();

  constructor(plans: UsagePlan[]) {
    for (const p of plans) this.plans.set(p.id!, structuredClone(p));
    this.client = intercept(new APIGatewayClient(clientConfig), this.calls, (command, input) =>
      this.answer(command, input),
    );
  }

  private answer(command: string, input: any): unknown {
    const plan = this.plans.get(input.usagePlanId);
    if (!plan) throw new Error(`no usage plan ${input.usagePlanId}`);
    if (command === 'GetUsagePlan') return structuredClone(plan);
    if (command === 'UpdateUsagePlan') {
      for (const op of input.patchOperations) applyPatch(plan, op);
      return structuredClone(plan);
    }
    throw new Error(`FakeApiGateway: unexpected ${command}`);
  }
}

/** The patch paths the adapter uses, as API Gateway documents them for usage plans. */
function applyPatch(plan: UsagePlan, op: { op: string; path: string; value?: string }) {
  let m = /^\/throttle(?:\/(rateLimit|burstLimit))?$/.exec(op.path);
  if (m) {
    if (op.op === 'remove' && !m[1]) delete plan.throttle;
    else if (op.op === 'remove') delete (plan.throttle as any)?.[m[1]!];
    else (plan.throttle ??= {})[m[1] as 'rateLimit'] = Number(op.value);
    return;
  }
  m = /^\/apiStages\/([^/]+:[^/]+)\/throttle\/(\/.*\/[A-Z*]+)(?:\/(rateLimit|burstLimit))?$/.exec(op.path);
  if (m) {
    const stage = plan.apiStages?.find((s) => `${s.apiId}:${s.stage}` === m![1]);
    if (!stage) throw new Error(`no API stage ${m[1]}`);
    const key = m[2]!;
    if (op.op === 'remove' && !m[3]) delete stage.throttle?.[key];
    else if (op.op === 'remove') delete (stage.throttle?.[key] as any)?.[m[3]!];
    else ((stage.throttle ??= {})[key] ??= {})[m[3] as 'rateLimit'] = Number(op.value);
    return;
  }
  throw new Error(`FakeApiGateway: unsupported patch path ${op.path}`);
}

// ---------------------------------------------------------------- AppConfig

interface FakeDeployment {
  DeploymentNumber: number;
  ConfigurationProfileId: string;
  ConfigurationVersion: string;
  State: string;
}

export class FakeAppConfig {
  readonly calls: Call[] = [];
  readonly client: AppConfigClient;
  readonly versions = new Map<number, { content: string; contentType: string }>();
  readonly deployments: FakeDeployment[] = [];
  /** State new deployments start in (COMPLETE: an all-at-once strategy without bake time). */
  newDeploymentState = 'COMPLETE';

  constructor(
    readonly app: string,
    readonly env: string,
    readonly profile: string,
    initial: unknown,
  ) {
    this.versions.set(1, { content: JSON.stringify(initial), contentType: 'application/json' });
    this.deployments.push({
      DeploymentNumber: 1,
      ConfigurationProfileId: profile,
      ConfigurationVersion: '1',
      State: 'COMPLETE',
    });
    this.client = intercept(new AppConfigClient(clientConfig), this.calls, (command, input) =>
      this.answer(command, input),
    );
  }

  /** The document the environment serves now. */
  served(): any {
    const d = [...this.deployments]
      .reverse()
      .find((x) => x.ConfigurationProfileId === this.profile && x.State !== 'ROLLED_BACK');
    return JSON.parse(this.versions.get(Number(d!.ConfigurationVersion))!.content);
  }

  finishDeployments() {
    for (const d of this.deployments) if (d.State !== 'ROLLED_BACK') d.State = 'COMPLETE';
  }

  private answer(command: string, input: any): unknown {
    if (input.ApplicationId !== this.app) throw new Error(`no application ${input.ApplicationId}`);
    switch (command) {
      case 'ListDeployments':
        return { Items: [...this.deployments].reverse().map((d) => ({ ...d })) };
      case 'ListHostedConfigurationVersions':
        return { Items: [...this.versions.keys()].map((VersionNumber) => ({ VersionNumber })) };
      case 'GetHostedConfigurationVersion': {
        const v = this.versions.get(input.VersionNumber);
        if (!v) throw new Error(`no version ${input.VersionNumber}`);
        return {
          VersionNumber: input.VersionNumber,
          Content: new TextEncoder().encode(v.content),
          ContentType: v.contentType,
        };
      }
      case 'CreateHostedConfigurationVersion': {
        const n = Math.max(...this.versions.keys()) + 1;
        this.versions.set(n, { content: new TextDecoder().decode(input.Content), contentType: input.ContentType });
        return { VersionNumber: n };
      }
      case 'StartDeployment': {
        const busy = this.deployments.find((d) =>
          ['DEPLOYING', 'BAKING', 'VALIDATING', 'ROLLING_BACK'].includes(d.State),
        );
        const latest = this.deployments.at(-1)!.DeploymentNumber;
        if (busy || (input.LatestDeploymentNumber !== undefined && input.LatestDeploymentNumber !== latest)) {
          throw new ConflictException({
            message: 'Deployment is already in progress or not from the latest state',
            $metadata: {},
          });
        }
        const d = {
          DeploymentNumber: latest + 1,
          ConfigurationProfileId: input.ConfigurationProfileId,
          ConfigurationVersion: input.ConfigurationVersion,
          State: this.newDeploymentState,
        };
        this.deployments.push(d);
        return { ...d };
      }
      default:
        throw new Error(`FakeAppConfig: unexpected ${command}`);
    }
  }
}

// ---------------------------------------------------------------- CloudFront

export class FakeCloudFront {
  readonly calls: Call[] = [];
  readonly client: CloudFrontClient;
  /** Invalidations by distribution and caller reference. */
  readonly invalidations = new Map<string, { Id: string; CreateTime: Date; paths: string[] }>();
  private n = 0;

  constructor(private readonly clock: () => number) {
    this.client = intercept(new CloudFrontClient(clientConfig), this.calls, (command, input) =>
      this.answer(command, input),
    );
  }

  private answer(command: string, input: any): unknown {
    if (command !== 'CreateInvalidation') throw new Error(`FakeCloudFront: unexpected ${command}`);
    const batch = input.InvalidationBatch;
    const key = `${input.DistributionId}/${batch.CallerReference}`;
    const existing = this.invalidations.get(key);
    if (existing && JSON.stringify(existing.paths) !== JSON.stringify(batch.Paths.Items)) {
      throw new CloudFrontServiceException({
        name: 'InvalidationBatchAlreadyExists',
        $fault: 'client',
        message: 'same CallerReference, different batch',
        $metadata: {},
      });
    }
    const inv = existing ?? { Id: `I${++this.n}ABCDEF`, CreateTime: new Date(this.clock()), paths: batch.Paths.Items };
    this.invalidations.set(key, inv);
    return {
      Location:
        `https://cloudfront.amazonaws.com/2020-05-31/distribution/` + `${input.DistributionId}/invalidation/${inv.Id}`,
      Invalidation: {
        Id: inv.Id,
        Status: 'InProgress',
        CreateTime: inv.CreateTime,
        InvalidationBatch: structuredClone(batch),
      },
    };
  }
}
