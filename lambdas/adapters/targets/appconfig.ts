import {
  ConflictException,
  CreateHostedConfigurationVersionCommand,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  ListHostedConfigurationVersionsCommand,
  StartDeploymentCommand,
  type AppConfigClient,
  type DeploymentSummary,
} from '@aws-sdk/client-appconfig';
import type { PlannedAction } from '../../core/mitigation/actions.js';
import { ControlTarget, type LiveRead, type ResolvedResource } from './control-target.js';
import { DeploymentInProgressError, InvalidStepError } from './errors.js';
import { canonical, isRecord, type SlotValue } from './layers.js';
import type { SlotStore } from './slot-store.js';

export interface AppConfigConfig {
  applicationId: string;
  environmentId: string;
  /** A feature-flag configuration profile (type AWS.AppConfig.FeatureFlags) in the hosted store. */
  configurationProfileId: string;
  /** Use one with FinalBakeTimeInMinutes 0: the environment takes no other deployment while one bakes. */
  deploymentStrategyId: string;
}

interface FlagResource extends ResolvedResource {
  flagKey: string;
  /** Undefined: the flag's `enabled`; otherwise one of its attributes. */
  attribute?: string;
}

interface DeployedContent {
  doc: FeatureFlagsDocument;
  contentType: string;
  /** The hosted version the environment serves (or the latest one if it was never deployed). */
  version: number | undefined;
  /** The newest deployment in the environment, any profile: StartDeployment's LatestDeploymentNumber. */
  latestDeploymentNumber: number | undefined;
  busy: DeploymentSummary | undefined;
}

/** AppConfig's feature-flag document: flag definitions and their current values. */
export interface FeatureFlagsDocument {
  version?: string;
  flags: Record<string, { name?: string; attributes?: Record<string, unknown> } & Record<string, unknown>>;
  values?: Record<string, Record<string, unknown>>;
  [k: string]: unknown;
}

const SERVING_STATES = new Set(['DEPLOYING', 'BAKING', 'COMPLETE', 'VALIDATING']);
const IN_PROGRESS_STATES = new Set(['DEPLOYING', 'BAKING', 'VALIDATING', 'ROLLING_BACK']);

/**
 * AWS AppConfig feature flags (hosted configuration). The step's `flag` is `<flag key>` (the value
 * must be a boolean: the flag's `enabled`) or `<flag key>.<attribute>` (one of the attributes the
 * flag defines). The adapter reads the content the environment currently serves, changes that one
 * value, creates a new hosted configuration version and starts a deployment with the configured
 * strategy; nothing is created or deployed when the served content already has the value.
 * previous = the old value (null: was not set); rollback writes it back the same way.
 */
export class AppConfigTarget extends ControlTarget<FlagResource, DeployedContent> {
  readonly kind = 'appconfig' as const;

  constructor(
    private readonly client: AppConfigClient,
    private readonly config: AppConfigConfig,
    slots: SlotStore,
  ) {
    super(slots);
  }

  protected resolve(action: PlannedAction): FlagResource {
    const { step } = action;
    const [flagKey, attribute, ...rest] = step.flag.split('.');
    if (!flagKey || rest.length || attribute === '')
      throw new InvalidStepError(
        this.kind,
        step.id,
        `flag '${step.flag}' must be <flag key> or <flag key>.<attribute>`,
      );
    if (attribute === undefined && typeof step.value !== 'boolean')
      throw new InvalidStepError(
        this.kind,
        step.id,
        `flag '${flagKey}' takes a boolean (enabled), got ${JSON.stringify(step.value)}; use '${flagKey}` +
          `.<attribute>' for an attribute`,
      );
    if (attribute !== undefined && !['string', 'number', 'boolean'].includes(typeof step.value))
      throw new InvalidStepError(
        this.kind,
        step.id,
        `attribute '${step.flag}' takes a string, number or boolean, got ${JSON.stringify(step.value)}`,
      );
    const c = this.config;
    return {
      slot: `${c.applicationId}/${c.environmentId}/${c.configurationProfileId}/${step.flag}`,
      flagKey,
      ...(attribute !== undefined && { attribute }),
    };
  }

  protected async read(resource: FlagResource): Promise<LiveRead<DeployedContent>> {
    const content = await this.deployedContent();
    const definition = content.doc.flags[resource.flagKey];
    if (!definition)
      throw new InvalidStepError(
        this.kind,
        resource.slot,
        `flag '${resource.flagKey}' is not defined in configuration profile ${this.config.configurationProfileId}`,
      );
    if (resource.attribute !== undefined && !isRecord(definition.attributes?.[resource.attribute])) {
      throw new InvalidStepError(
        this.kind,
        resource.slot,
        `flag '${resource.flagKey}' defines no attribute '${resource.attribute}'`,
      );
    }
    const values = content.doc.values?.[resource.flagKey];
    const value = values?.[resource.attribute ?? 'enabled'];
    return { value: value === undefined ? null : (value as SlotValue), context: content };
  }

  protected async write(
    resource: FlagResource,
    value: SlotValue,
    live: DeployedContent,
    action: PlannedAction,
  ): Promise<string | undefined> {
    const c = this.config;
    const doc = withValue(live.doc, resource, value);
    if (canonical(doc) === canonical(live.doc)) return undefined;
    if (live.busy) {
      // Checked before creating a version, so waiting for a busy environment leaves no orphan versions.
      throw new DeploymentInProgressError(
        `appconfig: environment ${c.environmentId} is busy with deployment #${live.busy.DeploymentNumber} (` +
          `${live.busy.State}); retry when it completes`,
      );
    }
    const description = ascii(
      `anomaly-guard ${action.rollbackKey}: ${resource.flagKey}` +
        `${resource.attribute ? `.${resource.attribute}` : ''} = ${JSON.stringify(value)}`,
    );
    const created = await this.client.send(
      new CreateHostedConfigurationVersionCommand({
        ApplicationId: c.applicationId,
        ConfigurationProfileId: c.configurationProfileId,
        Content: new TextEncoder().encode(JSON.stringify(doc)),
        ContentType: live.contentType,
        Description: description,
      }),
    );
    try {
      const deployment = await this.client.send(
        new StartDeploymentCommand({
          ApplicationId: c.applicationId,
          EnvironmentId: c.environmentId,
          DeploymentStrategyId: c.deploymentStrategyId,
          ConfigurationProfileId: c.configurationProfileId,
          ConfigurationVersion: String(created.VersionNumber),
          Description: description,
          ...(live.latestDeploymentNumber !== undefined && { LatestDeploymentNumber: live.latestDeploymentNumber }),
        }),
      );
      return `deployment/${deployment.DeploymentNumber}`;
    } catch (e) {
      if (e instanceof ConflictException || (e as Error).name === 'ConflictException') {
        throw new DeploymentInProgressError(
          `appconfig: environment ${c.environmentId} did not take the deployment of version ` +
            `${created.VersionNumber} (${(e as Error).message}); retry`,
        );
      }
      throw e;
    }
  }

  /** The content the environment serves: the newest deployment of the profile that is (being) served. */
  private async deployedContent(): Promise<DeployedContent> {
    const c = this.config;
    let latestDeploymentNumber: number | undefined;
    let busy: DeploymentSummary | undefined;
    let served: DeploymentSummary | undefined;
    let token: string | undefined;
    for (let page = 0; page < 10 && !served; page++) {
      const out = await this.client.send(
        new ListDeploymentsCommand({
          ApplicationId: c.applicationId,
          EnvironmentId: c.environmentId,
          MaxResults: 50,
          NextToken: token,
        }),
      );
      for (const d of out.Items ?? []) {
        latestDeploymentNumber ??= d.DeploymentNumber;
        if (!busy && d.State && IN_PROGRESS_STATES.has(d.State)) busy = d;
        if (d.ConfigurationProfileId === c.configurationProfileId && d.State && SERVING_STATES.has(d.State)) {
          served = d;
          break;
        }
      }
      token = out.NextToken;
      if (!token) break;
    }
    const version = served ? Number(served.ConfigurationVersion) : await this.latestHostedVersion();
    if (version !== undefined && !Number.isInteger(version))
      throw new Error(
        `appconfig: deployment #${served?.DeploymentNumber} serves configuration version '` +
          `${served?.ConfigurationVersion}', not a hosted version number`,
      );
    if (version === undefined)
      throw new Error(
        `appconfig: configuration profile ${c.configurationProfileId} has no hosted configuration version`,
      );
    const out = await this.client.send(
      new GetHostedConfigurationVersionCommand({
        ApplicationId: c.applicationId,
        ConfigurationProfileId: c.configurationProfileId,
        VersionNumber: version,
      }),
    );
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder().decode(out.Content ?? new Uint8Array()));
    } catch {
      throw new Error(`appconfig: version ${version} of profile ${c.configurationProfileId} is not JSON`);
    }
    if (!isRecord(doc) || !isRecord(doc.flags))
      throw new Error(
        `appconfig: version ${version} of profile ${c.configurationProfileId} is not a feature-flag document (no ` +
          `"flags")`,
      );
    return {
      doc: doc as FeatureFlagsDocument,
      contentType: out.ContentType ?? 'application/json',
      version,
      latestDeploymentNumber,
      busy,
    };
  }

  private async latestHostedVersion(): Promise<number | undefined> {
    const c = this.config;
    let latest: number | undefined;
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListHostedConfigurationVersionsCommand({
          ApplicationId: c.applicationId,
          ConfigurationProfileId: c.configurationProfileId,
          MaxResults: 50,
          NextToken: token,
        }),
      );
      for (const v of out.Items ?? [])
        if (v.VersionNumber !== undefined && (latest === undefined || v.VersionNumber > latest))
          latest = v.VersionNumber;
      token = out.NextToken;
    } while (token);
    return latest;
  }
}

/** A copy of the document with one flag value set (null: removed). */
export function withValue(
  doc: FeatureFlagsDocument,
  resource: { flagKey: string; attribute?: string },
  value: SlotValue,
): FeatureFlagsDocument {
  const next = structuredClone(doc);
  const values = (next.values ??= {});
  const entry = { ...(values[resource.flagKey] ?? {}) };
  const field = resource.attribute ?? 'enabled';
  if (value === null) delete entry[field];
  else entry[field] = value;
  if (Object.keys(entry).length) values[resource.flagKey] = entry;
  else delete values[resource.flagKey];
  return next;
}

/** AppConfig descriptions are ASCII only and at most 1024 characters. */
function ascii(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 1024);
}
