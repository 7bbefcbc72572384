import { parseActionTargetsConfig } from '../lambdas/adapters/targets/index.js';
import { parseSourceConfigs, type UsageSourceConfig } from '../lambdas/core/ingest/source-config.js';
import { DEFAULT_WINDOW_SETTINGS, validateWindowSettings, type WindowSettings } from '../lambdas/core/window-settings.js';

/** Everything a deployment can tune, read from `cdk.json` context key `anomalyGuard`. */
export interface AnomalyGuardConfig {
  readonly stream: {
    /** `on-demand` scales itself; `provisioned` uses `shardCount`. */
    readonly mode: 'on-demand' | 'provisioned';
    readonly shardCount: number;
    readonly retentionHours: number;
  };
  readonly consumer: {
    readonly batchSize: number;
    readonly maxBatchingWindowSeconds: number;
    readonly parallelizationFactor: number;
    readonly maxRetryAttempts: number;
    readonly maxRecordAgeSeconds: number;
    readonly memorySizeMb: number;
    readonly timeoutSeconds: number;
  };
  readonly window: WindowSettings;
  /** Change records producers put on the stream (or source pollers map): one tenant each, at most this long. */
  readonly changes: {
    /** Longest `until - ts` a change record on the stream may have; platform-wide or longer windows go through the operator API. */
    readonly maxStreamWindowHours: number;
  };
  readonly logRetentionDays: number;
  /** Email addresses subscribed to the alert topic at deploy time (optional). */
  readonly alertEmails: readonly string[];
  /** `destroy` for throwaway stacks; `retain` keeps tables and keys when the stack is deleted. */
  readonly removalPolicy: 'retain' | 'destroy';
  readonly mitigation: {
    /** Start the workflow automatically for `mitigate` decisions (false: alert only). */
    readonly automatic: boolean;
    /** Seed 004 §I: first regression check after 15 min, the final one at 60 min. */
    readonly observationSeconds: number;
    readonly finalCheckSeconds: number;
    /** Staged rollback: one step per interval. */
    readonly rollbackIntervalSeconds: number;
    /** The region label this deployment acts in (producers' `region` vocabulary); actions elsewhere are denied. */
    readonly deploymentRegion?: string;
    /**
     * Enabled action targets (lambdas/adapters/targets ActionTargetsConfig). Steps for others go to the
     * flag table, or with `unconfiguredTargets: 'error'` (for all kinds, or per kind) are handed off.
     */
    readonly actionTargets: Record<string, unknown>;
    /**
     * A platform-wide (`scope: platform`) or irreversible step is applied only for an incident whose
     * anomalies span at least this many tenants (counted from the anomaly store); else it is handed off.
     */
    readonly platformMinTenants: number;
  };
  /** The operator API (docs/architecture.md contract 2): API Gateway REST API with IAM auth, WAF and a usage plan. */
  readonly api: ApiConfig;
  /** Root-cause reports (docs/architecture.md contract 3): the reports bucket and the report generator. */
  readonly reports: ReportsConfig;
  /** Every record that enters the stream, archived to S3 by Firehose (replay, RCA evidence). */
  readonly archive: ArchiveConfig;
  /** Third-party usage/cost APIs polled on a schedule (seed 001); one poller Lambda each. */
  readonly sources: readonly UsageSourceConfig[];
  /** Alarms on the system's own health and the operations dashboard (seed 003). */
  readonly operations: OperationsConfig;
}

export interface OperationsConfig {
  /** Where the health alarms go: a separate encrypted ops topic (default) or the anomaly alert topic. */
  readonly notify: 'ops-topic' | 'alert-topic';
  /** Addresses subscribed to the ops topic at deploy time. */
  readonly opsEmails: readonly string[];
  /** Page when the consumer's iterator age (oldest unprocessed record) stays above this for 5 minutes. */
  readonly iteratorAgeAlarmSeconds: number;
  /** Page when the operator API's p99 latency stays above this for 15 minutes. */
  readonly apiLatencyP99AlarmMs: number;
  /** Page when the operator API returns at least this many 5xx responses in 5 minutes. */
  readonly api5xxAlarmCount: number;
}

export interface ArchiveConfig {
  /** Firehose buffering: an object is written when either limit is reached (0..900 s, 1..128 MiB). */
  readonly bufferingIntervalSeconds: number;
  readonly bufferingSizeMiB: number;
  /** Archive objects move to S3 Standard-IA after this many days (at least 30). */
  readonly infrequentAccessAfterDays: number;
  /** Days an archive object is kept before the lifecycle rule deletes it. */
  readonly retentionDays: number;
}

export interface ReportsConfig {
  /** Days a report object under `reports/` is kept before the lifecycle rule deletes it. */
  readonly retentionDays: number;
  /** Days the reports bucket's server access logs are kept in the access-log bucket. */
  readonly accessLogRetentionDays: number;
  /** UTC hour of the daily digest of the previous UTC day (the schedule fires at minute 15 of this hour). */
  readonly dailyReportHourUtc: number;
  /** Report generator Lambda sizing. */
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
}

export type UsagePlanQuotaPeriod = 'DAY' | 'WEEK' | 'MONTH';

export interface ApiConfig {
  /** Deploy the operator API (false: the stack has no API Gateway, WAF or API Lambdas). */
  readonly enabled: boolean;
  /** Stage-wide steady-state requests per second, for all callers together. */
  readonly throttlingRateLimit: number;
  /** Stage-wide burst (token bucket size). */
  readonly throttlingBurstLimit: number;
  /** Usage-plan throttle and quota (metered per API key only: see lib/operator-api.ts). */
  readonly usagePlanRateLimit: number;
  readonly usagePlanBurstLimit: number;
  readonly usagePlanQuotaLimit: number;
  readonly usagePlanQuotaPeriod: UsagePlanQuotaPeriod;
  /** WAF rate-based rule: requests one client IP may send in any 5-minute window before it is blocked. */
  readonly wafRateLimit: number;
  /**
   * Set this region's account-level API Gateway CloudWatch Logs role (needed once per account and
   * region for access and execution logs). False when the account already has one (e.g. a landing zone sets it).
   */
  readonly cloudWatchRole: boolean;
}

export const DEFAULT_CONFIG: AnomalyGuardConfig = {
  stream: { mode: 'provisioned', shardCount: 1, retentionHours: 24 },
  consumer: {
    batchSize: 1000,
    maxBatchingWindowSeconds: 5,
    parallelizationFactor: 1,
    maxRetryAttempts: 5,
    maxRecordAgeSeconds: 3600,
    memorySizeMb: 512,
    timeoutSeconds: 60,
  },
  window: DEFAULT_WINDOW_SETTINGS,
  changes: { maxStreamWindowHours: 24 },
  logRetentionDays: 30,
  alertEmails: [],
  removalPolicy: 'retain',
  mitigation: { automatic: true, observationSeconds: 900, finalCheckSeconds: 2700, rollbackIntervalSeconds: 300, actionTargets: {}, platformMinTenants: 3 },
  api: {
    enabled: true,
    throttlingRateLimit: 50,
    throttlingBurstLimit: 100,
    usagePlanRateLimit: 50,
    usagePlanBurstLimit: 100,
    usagePlanQuotaLimit: 100_000,
    usagePlanQuotaPeriod: 'DAY',
    wafRateLimit: 1000,
    cloudWatchRole: true,
  },
  reports: { retentionDays: 400, accessLogRetentionDays: 90, dailyReportHourUtc: 0, memorySizeMb: 512, timeoutSeconds: 60 },
  archive: { bufferingIntervalSeconds: 300, bufferingSizeMiB: 64, infrequentAccessAfterDays: 30, retentionDays: 400 },
  sources: [],
  operations: { notify: 'ops-topic', opsEmails: [], iteratorAgeAlarmSeconds: 300, apiLatencyP99AlarmMs: 3000, api5xxAlarmCount: 5 },
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Merge user context over the defaults and reject values AWS would reject at deploy time. */
export function resolveConfig(context: unknown): AnomalyGuardConfig {
  const user = (context ?? {}) as DeepPartial<AnomalyGuardConfig>;
  if (typeof user !== 'object' || Array.isArray(user)) throw new Error('cdk.json context "anomalyGuard" must be an object');
  const config: AnomalyGuardConfig = {
    stream: { ...DEFAULT_CONFIG.stream, ...user.stream },
    consumer: { ...DEFAULT_CONFIG.consumer, ...user.consumer },
    window: validateWindowSettings({ ...DEFAULT_CONFIG.window, ...user.window }),
    changes: { ...DEFAULT_CONFIG.changes, ...user.changes },
    logRetentionDays: user.logRetentionDays ?? DEFAULT_CONFIG.logRetentionDays,
    alertEmails: user.alertEmails ?? DEFAULT_CONFIG.alertEmails,
    removalPolicy: user.removalPolicy ?? DEFAULT_CONFIG.removalPolicy,
    mitigation: { ...DEFAULT_CONFIG.mitigation, ...(user.mitigation as Partial<AnomalyGuardConfig['mitigation']>) },
    api: { ...DEFAULT_CONFIG.api, ...user.api },
    reports: { ...DEFAULT_CONFIG.reports, ...user.reports },
    archive: { ...DEFAULT_CONFIG.archive, ...user.archive },
    sources: DEFAULT_CONFIG.sources,
    operations: { ...DEFAULT_CONFIG.operations, ...user.operations },
  };
  const problems: string[] = [];
  const { stream, consumer } = config;
  const intIn = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) problems.push(`${name} must be an integer in ${lo}..${hi} (got ${v})`);
  };
  if (stream.mode !== 'on-demand' && stream.mode !== 'provisioned') problems.push(`stream.mode must be "on-demand" or "provisioned" (got ${String(stream.mode)})`);
  intIn('stream.shardCount', stream.shardCount, 1, 500);
  intIn('stream.retentionHours', stream.retentionHours, 24, 8760);
  intIn('consumer.batchSize', consumer.batchSize, 1, 10_000);
  intIn('consumer.maxBatchingWindowSeconds', consumer.maxBatchingWindowSeconds, 0, 300);
  intIn('consumer.parallelizationFactor', consumer.parallelizationFactor, 1, 10);
  intIn('consumer.maxRetryAttempts', consumer.maxRetryAttempts, 0, 10_000);
  intIn('consumer.maxRecordAgeSeconds', consumer.maxRecordAgeSeconds, 60, 604_800);
  intIn('consumer.memorySizeMb', consumer.memorySizeMb, 128, 10_240);
  intIn('consumer.timeoutSeconds', consumer.timeoutSeconds, 1, 900);
  intIn('changes.maxStreamWindowHours', config.changes.maxStreamWindowHours, 1, 24 * 14);
  if (!ALLOWED_LOG_RETENTION_DAYS.includes(config.logRetentionDays)) problems.push(`logRetentionDays must be one of ${ALLOWED_LOG_RETENTION_DAYS.join(', ')}`);
  if (!isEmailList(config.alertEmails)) problems.push('alertEmails must be a list of email addresses');
  if (config.removalPolicy !== 'retain' && config.removalPolicy !== 'destroy') problems.push('removalPolicy must be "retain" or "destroy"');
  const m = config.mitigation;
  if (typeof m.automatic !== 'boolean') problems.push('mitigation.automatic must be true or false');
  intIn('mitigation.observationSeconds', m.observationSeconds, 1, 86_400);
  intIn('mitigation.finalCheckSeconds', m.finalCheckSeconds, 1, 86_400);
  intIn('mitigation.rollbackIntervalSeconds', m.rollbackIntervalSeconds, 0, 86_400);
  intIn('mitigation.platformMinTenants', m.platformMinTenants, 1, 10_000);
  if (m.deploymentRegion !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(m.deploymentRegion)) problems.push('mitigation.deploymentRegion must be a region label like "kr"');
  try {
    parseActionTargetsConfig(m.actionTargets);
  } catch (e) {
    problems.push(`mitigation.actionTargets: ${(e as Error).message}`);
  }
  const api = config.api;
  const numberIn = (name: string, v: number, lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= lo || v > hi) problems.push(`${name} must be a number above ${lo} and at most ${hi} (got ${String(v)})`);
  };
  if (typeof api.enabled !== 'boolean') problems.push('api.enabled must be true or false');
  if (typeof api.cloudWatchRole !== 'boolean') problems.push('api.cloudWatchRole must be true or false');
  // API Gateway's default account limits are 10,000 requests/s and a burst of 5,000 per region.
  numberIn('api.throttlingRateLimit', api.throttlingRateLimit, 0, 10_000);
  intIn('api.throttlingBurstLimit', api.throttlingBurstLimit, 1, 5_000);
  numberIn('api.usagePlanRateLimit', api.usagePlanRateLimit, 0, 10_000);
  intIn('api.usagePlanBurstLimit', api.usagePlanBurstLimit, 1, 5_000);
  intIn('api.usagePlanQuotaLimit', api.usagePlanQuotaLimit, 1, 2_147_483_647);
  if (!['DAY', 'WEEK', 'MONTH'].includes(api.usagePlanQuotaPeriod)) problems.push(`api.usagePlanQuotaPeriod must be "DAY", "WEEK" or "MONTH" (got ${String(api.usagePlanQuotaPeriod)})`);
  // WAFv2 rate-based statements accept 10..2,000,000,000 requests per evaluation window.
  intIn('api.wafRateLimit', api.wafRateLimit, 10, 2_000_000_000);
  const reports = config.reports;
  if (user.reports !== undefined && (typeof user.reports !== 'object' || user.reports === null || Array.isArray(user.reports))) problems.push('reports must be an object');
  // S3 lifecycle expiration takes any positive whole number of days; 100 years bounds typos.
  intIn('reports.retentionDays', reports.retentionDays, 1, 36_500);
  intIn('reports.accessLogRetentionDays', reports.accessLogRetentionDays, 1, 36_500);
  intIn('reports.dailyReportHourUtc', reports.dailyReportHourUtc, 0, 23);
  intIn('reports.memorySizeMb', reports.memorySizeMb, 128, 10_240);
  intIn('reports.timeoutSeconds', reports.timeoutSeconds, 1, 900);
  if (user.archive !== undefined && (typeof user.archive !== 'object' || user.archive === null || Array.isArray(user.archive))) problems.push('archive must be an object');
  const archive = config.archive;
  intIn('archive.bufferingIntervalSeconds', archive.bufferingIntervalSeconds, 0, 900);
  intIn('archive.bufferingSizeMiB', archive.bufferingSizeMiB, 1, 128);
  // S3 refuses a Standard-IA transition earlier than 30 days, and expiry must come after it.
  intIn('archive.infrequentAccessAfterDays', archive.infrequentAccessAfterDays, 30, 36_500);
  intIn('archive.retentionDays', archive.retentionDays, archive.infrequentAccessAfterDays + 1, 36_500);
  if (user.operations !== undefined && (typeof user.operations !== 'object' || user.operations === null || Array.isArray(user.operations))) problems.push('operations must be an object');
  const ops = config.operations;
  if (ops.notify !== 'ops-topic' && ops.notify !== 'alert-topic') problems.push(`operations.notify must be "ops-topic" or "alert-topic" (got ${String(ops.notify)})`);
  if (!isEmailList(ops.opsEmails)) problems.push('operations.opsEmails must be a list of email addresses');
  if (ops.notify === 'alert-topic' && ops.opsEmails.length) problems.push('operations.opsEmails needs operations.notify "ops-topic" (with "alert-topic" the alarms go to alertEmails)');
  // Kinesis keeps records for at least 24 h; an alarm later than that would fire after data loss.
  intIn('operations.iteratorAgeAlarmSeconds', ops.iteratorAgeAlarmSeconds, 10, 86_400);
  intIn('operations.apiLatencyP99AlarmMs', ops.apiLatencyP99AlarmMs, 50, 29_000);
  intIn('operations.api5xxAlarmCount', ops.api5xxAlarmCount, 1, 1_000_000);
  let sources: UsageSourceConfig[] = [];
  try {
    sources = parseSourceConfigs(user.sources);
  } catch (e) {
    problems.push(...(e as Error).message.split('\n'));
  }
  if (problems.length) throw new Error(`invalid anomalyGuard config:\n  - ${problems.join('\n  - ')}`);
  return { ...config, sources };
}

/** CloudWatch Logs accepts only these retention periods. */
const ALLOWED_LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

function isEmailList(v: unknown): boolean {
  return Array.isArray(v) && v.every((e) => typeof e === 'string' && /^[^@\s]+@[^@\s]+$/.test(e));
}
