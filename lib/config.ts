import { z } from 'zod';
import { type ActionTargetsConfig, parseActionTargetsConfig } from '../lambdas/adapters/targets/index.js';
import {
  parseSourceConfigs,
  type SOURCE_DEFAULTS,
  type UsageSourceConfig,
} from '../lambdas/core/ingest/source-config.js';
import { PLAYBOOK_STEP_IDS } from '../lambdas/core/mitigation/playbooks.js';
import { DEFAULT_WINDOW_SETTINGS, validateWindowSettings } from '../lambdas/core/window-settings.js';

/*
 * Everything a deployment can tune: `cdk.json` context key `anomalyGuard`, or the props of the
 * `AnomalyGuard` construct. One zod schema holds the checks and the defaults; the TypeScript types
 * (`AnomalyGuardSettings` in, `AnomalyGuardConfig` out) are derived from it. Every message names
 * the offending key (`stream.shardCount must be an integer in 1..500 (got 0)`), because the limits
 * are AWS's and a deploy that fails half-way is worse than a synth that refuses.
 */

/** How a rejected value is quoted in a message. */
const shown = (v: unknown): string =>
  typeof v === 'number' || typeof v === 'boolean' || v === undefined ? String(v) : JSON.stringify(v);
type Issue = { readonly input?: unknown };

/** An integer in lo..hi (both inclusive). */
function intIn(lo: number, hi: number) {
  const error = (iss: Issue) => `must be an integer in ${lo}..${hi} (got ${shown(iss.input)})`;
  return z.number({ error }).int({ error }).min(lo, { error }).max(hi, { error });
}

/** A finite number above lo (exclusive) and at most hi. */
function numberAbove(lo: number, hi: number) {
  const error = (iss: Issue) => `must be a number above ${lo} and at most ${hi} (got ${shown(iss.input)})`;
  return z.number({ error }).gt(lo, { error }).lte(hi, { error });
}

/** One of a few strings. */
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const listed = values.map((v) => `"${v}"`);
  const choices = listed.length === 2 ? listed.join(' or ') : `${listed.slice(0, -1).join(', ')} or ${listed.at(-1)}`;
  return z.enum(values, { error: (iss: Issue) => `must be ${choices} (got ${shown(iss.input)})` });
}

const flag = () => z.boolean({ error: 'must be true or false' });

const EMAIL = /^[^@\s]+@[^@\s]+$/;
const emailList = () =>
  z.custom<string[]>((v) => Array.isArray(v) && v.every((e) => typeof e === 'string' && EMAIL.test(e)), {
    error: 'must be a list of email addresses',
  });

/** A settings group: an object whose keys all have defaults, so an absent group is all defaults. */
function group<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.object(shape, { error: 'must be an object' });
}

/** CloudWatch Logs accepts only these retention periods. */
const ALLOWED_LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/**
 * An issue whose message is already a complete sentence (the source and window validators in
 * lambdas/core name their own fields), or that reads `<key>: <detail>`.
 */
type IssueStyle = { verbatim?: true; detail?: true };

/** A third-party source as written in the config: the fields with a default may be left out. */
export type UsageSourceSettings = Omit<UsageSourceConfig, keyof typeof SOURCE_DEFAULTS | 'headers'> &
  Partial<Pick<UsageSourceConfig, keyof typeof SOURCE_DEFAULTS | 'headers'>>;

const streamSchema = group({
  /**
   * `on-demand` scales itself; `provisioned` uses `shardCount`.
   * @default 'provisioned'
   */
  mode: oneOf(['on-demand', 'provisioned']).default('provisioned'),
  /**
   * Shards of a provisioned stream (1..500); ignored on demand.
   * @default 1
   */
  shardCount: intIn(1, 500).default(1),
  /**
   * How long Kinesis keeps records (24..8760 hours).
   * @default 24
   */
  retentionHours: intIn(24, 8760).default(24),
});

const consumerSchema = group({
  /**
   * Records per consumer invocation (1..10000).
   * @default 1000
   */
  batchSize: intIn(1, 10_000).default(1000),
  /**
   * How long the event source gathers a batch (0..300 s).
   * @default 5
   */
  maxBatchingWindowSeconds: intIn(0, 300).default(5),
  /**
   * Concurrent batches per shard (1..10); order per partition key is kept.
   * @default 1
   */
  parallelizationFactor: intIn(1, 10).default(1),
  /**
   * Retries of a failed batch before its coordinates go to the consumer failure queue (0..10000).
   * @default 5
   */
  maxRetryAttempts: intIn(0, 10_000).default(5),
  /**
   * Records older than this are sent to the consumer failure queue unprocessed (60..604800 s).
   * @default 3600
   */
  maxRecordAgeSeconds: intIn(60, 604_800).default(3600),
  /**
   * Consumer Lambda memory (128..10240 MB).
   * @default 512
   */
  memorySizeMb: intIn(128, 10_240).default(512),
  /**
   * Consumer Lambda timeout (1..900 s).
   * @default 60
   */
  timeoutSeconds: intIn(1, 900).default(60),
  /**
   * Tumbling window of the event source mapping (0..900 s): each shard's records of a window are
   * aggregated in the state Lambda carries between invocations, and each active key is written once
   * per window (lambdas/usecases/windowed-batch.ts). 0 folds and writes every batch on its own.
   * @default 60
   */
  tumblingWindowSeconds: intIn(0, 900).default(60),
  /**
   * With tumbling windows: a key with nothing to report is written every other window, its window kept
   * meanwhile in one compressed item per shard (lambdas/core/window-carry.ts); about half the state writes.
   * Off: every active key is written at every window's end.
   * @default true
   */
  carryQuietKeys: flag().default(true),
});

/**
 * Loosely typed here: `validateWindowSettings` (lambdas/core/window-settings.ts) owns the limits, shared with replay.
 */
const windowNumber = () => z.number({ error: (iss: Issue) => `must be a number (got ${shown(iss.input)})` });
const windowSchema = group({
  /**
   * Length of the sliding window, in minutes (1..60; buckets are one minute each).
   * @default 10
   */
  windowMinutes: windowNumber().default(DEFAULT_WINDOW_SETTINGS.windowMinutes),
  /**
   * How often a window result is emitted, in minutes (1..windowMinutes).
   * @default 1
   */
  slideMinutes: windowNumber().default(DEFAULT_WINDOW_SETTINGS.slideMinutes),
  /**
   * How far behind the newest event time a record may arrive and still be folded (0..1800000 ms).
   * @default 120000
   */
  allowedLatenessMs: windowNumber().default(DEFAULT_WINDOW_SETTINGS.allowedLatenessMs),
  /**
   * Record ids a key remembers across its open minutes to drop producer resends (0..128; 0 turns it off).
   * @default 64
   */
  dedupeIds: windowNumber().default(DEFAULT_WINDOW_SETTINGS.dedupeIds),
}).superRefine((window, ctx) => {
  try {
    validateWindowSettings(window);
  } catch (e) {
    const message = (e as Error).message.replace(/^invalid window settings: /, '');
    for (const problem of message.split('; '))
      ctx.addIssue({ code: 'custom', message: `window.${problem}`, params: { verbatim: true } satisfies IssueStyle });
  }
});

const changesSchema = group({
  /**
   * Longest `until - ts` a change record on the stream may have (1..336 hours); platform-wide or
   * longer windows go through the operator API.
   * @default 24
   */
  maxStreamWindowHours: intIn(1, 24 * 14).default(24),
});

const mitigationSchema = group({
  /**
   * Start the workflow automatically for `mitigate` decisions (false: alert only).
   * @default true
   */
  automatic: flag().default(true),
  /**
   * First regression check after this many seconds (seed 004 §I: 15 min).
   * @default 900
   */
  observationSeconds: intIn(1, 86_400).default(900),
  /**
   * The final regression check, this many seconds after the first.
   * @default 2700
   */
  finalCheckSeconds: intIn(1, 86_400).default(2700),
  /**
   * Staged rollback: one step per interval (0..86400 s).
   * @default 300
   */
  rollbackIntervalSeconds: intIn(0, 86_400).default(300),
  /**
   * How long a step that waits for an operator's approval waits (task token); with no answer nothing is applied and
   * the run hands off.
   * @default 900
   */
  approvalTimeoutSeconds: intIn(60, 86_400).default(900),
  /**
   * Per playbook step id, whether it waits for an operator's approval (`required`) or not (`auto`), over the
   * playbook's own setting (hard steps wait by default). Platform-wide and irreversible steps on a small incident wait
   * regardless (Cedar guardrails).
   * @default {}
   */
  stepApproval: z
    .partialRecord(
      z.enum(PLAYBOOK_STEP_IDS, { error: `must be a playbook step id (${PLAYBOOK_STEP_IDS.join(', ')})` }),
      z.enum(['required', 'auto'], { error: 'must be "required" or "auto"' }),
    )
    .default({}),
  /**
   * The region label this deployment acts in (producers' `region` vocabulary); actions elsewhere are denied.
   * @default - none: actions are not restricted by region label
   */
  deploymentRegion: z
    .string({ error: 'must be a region label like "kr"' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, { error: 'must be a region label like "kr"' })
    .optional(),
  /**
   * Enabled action targets (lambdas/adapters/targets `ActionTargetsConfig`). Steps for others go to the
   * flag table, or with `unconfiguredTargets: 'error'` (for all kinds, or per kind) are handed off.
   * @default {} (every step goes to the flag table)
   */
  actionTargets: z
    .custom<ActionTargetsConfig>()
    .optional()
    .transform((raw, ctx) => {
      try {
        parseActionTargetsConfig(raw ?? {});
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message, params: { detail: true } satisfies IssueStyle });
        return z.NEVER;
      }
      // Kept as written: it is passed to the handlers as JSON and parsed there again.
      return (raw ?? {}) as Record<string, unknown>;
    }),
  /**
   * A platform-wide (`scope: platform`) or irreversible step is applied only for an incident whose
   * anomalies span at least this many tenants (counted from the anomaly store); else it is handed off.
   * @default 3
   */
  platformMinTenants: intIn(1, 10_000).default(3),
});

// API Gateway's default account limits are 10,000 requests/s and a burst of 5,000 per region.
const apiSchema = group({
  /**
   * Deploy the operator API (false: no API Gateway, WAF or API Lambdas).
   * @default true
   */
  enabled: flag().default(true),
  /**
   * Stage-wide steady-state requests per second, for all callers together (a number above 0, at most 10000).
   * @default 50
   */
  throttlingRateLimit: numberAbove(0, 10_000).default(50),
  /**
   * Stage-wide burst (token bucket size, 1..5000).
   * @default 100
   */
  throttlingBurstLimit: intIn(1, 5_000).default(100),
  /**
   * Usage-plan rate (metered per API key only: see lib/operator-api.ts).
   * @default 50
   */
  usagePlanRateLimit: numberAbove(0, 10_000).default(50),
  /**
   * Usage-plan burst (1..5000).
   * @default 100
   */
  usagePlanBurstLimit: intIn(1, 5_000).default(100),
  /**
   * Usage-plan quota per period.
   * @default 100000
   */
  usagePlanQuotaLimit: intIn(1, 2_147_483_647).default(100_000),
  /**
   * The quota period.
   * @default 'DAY'
   */
  usagePlanQuotaPeriod: oneOf(['DAY', 'WEEK', 'MONTH']).default('DAY'),
  /**
   * WAF rate-based rule: requests one client IP may send in any 5-minute window before it is blocked
   * (WAFv2 accepts 10..2000000000).
   * @default 1000
   */
  wafRateLimit: intIn(10, 2_000_000_000).default(1000),
  /**
   * Set this region's account-level API Gateway CloudWatch Logs role (needed once per account and
   * region for access and execution logs). False when the account already has one (e.g. a landing zone sets it).
   * @default true
   */
  cloudWatchRole: flag().default(true),
});

// S3 lifecycle expiration takes any positive whole number of days; 100 years bounds typos.
const reportsSchema = group({
  /**
   * Days a report object under `reports/` is kept before the lifecycle rule deletes it.
   * @default 400
   */
  retentionDays: intIn(1, 36_500).default(400),
  /**
   * Days the reports bucket's server access logs are kept in the access-log bucket.
   * @default 90
   */
  accessLogRetentionDays: intIn(1, 36_500).default(90),
  /**
   * UTC hour of the daily digest of the previous UTC day (the schedule fires at minute 15 of this hour).
   * @default 0
   */
  dailyReportHourUtc: intIn(0, 23).default(0),
  /**
   * Report generator Lambda memory.
   * @default 512
   */
  memorySizeMb: intIn(128, 10_240).default(512),
  /**
   * Report generator Lambda timeout.
   * @default 60
   */
  timeoutSeconds: intIn(1, 900).default(60),
});

const archiveSchema = group({
  /**
   * Firehose buffering: an object is written when either limit is reached (0..900 s).
   * @default 300
   */
  bufferingIntervalSeconds: intIn(0, 900).default(300),
  /**
   * Firehose buffering size (1..128 MiB).
   * @default 64
   */
  bufferingSizeMiB: intIn(1, 128).default(64),
  /**
   * Archive objects move to S3 Standard-IA after this many days (S3 refuses earlier than 30).
   * @default 30
   */
  infrequentAccessAfterDays: intIn(30, 36_500).default(30),
  /**
   * Days an archive object is kept before the lifecycle rule deletes it (after the Standard-IA transition).
   * @default 400
   */
  retentionDays: intIn(31, 36_500).default(400),
}).superRefine((archive, ctx) => {
  // S3 requires expiry to come after the Standard-IA transition.
  if (archive.retentionDays <= archive.infrequentAccessAfterDays) {
    ctx.addIssue({
      code: 'custom',
      path: ['retentionDays'],
      message: `must be an integer in ${archive.infrequentAccessAfterDays + 1}..36500 (got ${archive.retentionDays})`,
    });
  }
});

const dashboardSchema = group({
  /**
   * Serve the operator dashboard in AWS (needs `api.enabled`): the page from a private S3 bucket through CloudFront,
   * sign-in through a Cognito user pool (groups `viewer` and `operator`), and a Cognito-authorized copy of the
   * operator API's routes behind the same distribution.
   * @default true
   */
  enabled: flag().default(true),
  /**
   * CloudFront price class: which edge locations serve the page.
   * @default 'PriceClass_100'
   */
  priceClass: oneOf(['PriceClass_100', 'PriceClass_200', 'PriceClass_All']).default('PriceClass_100'),
  /**
   * Cognito threat protection (compromised credentials, adaptive authentication) in full-function mode. Needs the
   * user pool's Plus feature plan, billed per monthly active user; false keeps the Essentials plan.
   * @default false
   */
  threatProtection: flag().default(false),
  /**
   * A custom domain for the distribution (with `certificateArn`); the DNS record pointing at the distribution is
   * yours to create.
   * @default - none: the distribution's own `*.cloudfront.net` name and certificate
   */
  domainName: z
    .string({ error: 'must be a domain name like "guard.example.com"' })
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
      error: 'must be a domain name like "guard.example.com"',
    })
    .optional(),
  /**
   * ACM certificate for `domainName`, in us-east-1 (CloudFront's region for certificates).
   * @default - none
   */
  certificateArn: z
    .string({ error: 'must be an ACM certificate ARN in us-east-1' })
    .regex(/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[A-Za-z0-9-]+$/, {
      error: 'must be an ACM certificate ARN in us-east-1',
    })
    .optional(),
  /**
   * Days the dashboard's CloudFront and S3 access logs are kept.
   * @default 90
   */
  accessLogRetentionDays: intIn(1, 36_500).default(90),
}).superRefine((dashboard, ctx) => {
  if ((dashboard.domainName === undefined) !== (dashboard.certificateArn === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [dashboard.domainName === undefined ? 'domainName' : 'certificateArn'],
      message: 'is needed with dashboard.' + (dashboard.domainName === undefined ? 'certificateArn' : 'domainName'),
    });
  }
});

const operationsSchema = group({
  /**
   * Where the health alarms go: a separate encrypted ops topic, or the anomaly alert topic.
   * @default 'ops-topic'
   */
  notify: oneOf(['ops-topic', 'alert-topic']).default('ops-topic'),
  /**
   * Addresses subscribed to the ops topic at deploy time (needs `notify: 'ops-topic'`).
   * @default []
   */
  opsEmails: emailList().default([]),
  /**
   * Page when the consumer's iterator age (oldest unprocessed record) stays above this for 5 minutes
   * (10..86400 s: Kinesis keeps records for at least 24 h, a later alarm would fire after data loss).
   * @default 300
   */
  iteratorAgeAlarmSeconds: intIn(10, 86_400).default(300),
  /**
   * Page when the operator API's p99 latency stays above this for 15 minutes (50..29000 ms).
   * @default 3000
   */
  apiLatencyP99AlarmMs: intIn(50, 29_000).default(3000),
  /**
   * Page when the operator API returns at least this many 5xx responses in 5 minutes.
   * @default 5
   */
  api5xxAlarmCount: intIn(1, 1_000_000).default(5),
}).superRefine((ops, ctx) => {
  if (ops.notify === 'alert-topic' && ops.opsEmails.length) {
    ctx.addIssue({
      code: 'custom',
      path: ['opsEmails'],
      message: 'needs operations.notify "ops-topic" (with "alert-topic" the alarms go to alertEmails)',
    });
  }
});

/**
 * The `anomalyGuard` settings: `cdk.json` context, or the `AnomalyGuard` construct's props.
 * Every key is optional; `resolveConfig` fills the defaults.
 */
export const anomalyGuardConfigSchema = z.object(
  {
    /**
     * The Kinesis data stream producers put records on.
     * @default - every key's own default
     */
    stream: streamSchema.prefault({}),
    /**
     * The stream consumer Lambda and its Kinesis event source mapping.
     * @default - every key's own default
     */
    consumer: consumerSchema.prefault({}),
    /**
     * How per-key event-time windows are cut (lambdas/core/window-settings.ts).
     * @default - every key's own default
     */
    window: windowSchema.prefault({}),
    /**
     * Change records producers put on the stream (or source pollers map): one tenant each, at most this long.
     * @default - every key's own default
     */
    changes: changesSchema.prefault({}),
    /**
     * Retention of every log group (a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, ...).
     * @default 30
     */
    logRetentionDays: z
      .number({ error: `must be one of ${ALLOWED_LOG_RETENTION_DAYS.join(', ')}` })
      .refine((d) => ALLOWED_LOG_RETENTION_DAYS.includes(d), {
        error: `must be one of ${ALLOWED_LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(30),
    /**
     * Email addresses subscribed to the alert topic at deploy time (each must confirm by email).
     * @default []
     */
    alertEmails: emailList().default([]),
    /**
     * `destroy` for throwaway stacks; `retain` keeps the table, buckets, stream and keys when the stack is deleted.
     * @default 'retain'
     */
    removalPolicy: oneOf(['retain', 'destroy']).default('retain'),
    /**
     * The mitigation workflow (seed 004 §C, §I): timings, guardrails and action targets.
     * @default - every key's own default
     */
    mitigation: mitigationSchema.prefault({}),
    /**
     * The operator API (docs/architecture.md contract 2): API Gateway REST API with IAM auth, WAF and a usage plan.
     * @default - every key's own default
     */
    api: apiSchema.prefault({}),
    /**
     * The operator dashboard in AWS: CloudFront, S3, Cognito sign-in, and the Cognito-authorized API (viewer and
     * operator roles).
     * @default - every key's own default
     */
    dashboard: dashboardSchema.prefault({}),
    /**
     * Root-cause reports (docs/architecture.md contract 3): the reports bucket and the report generator.
     * @default - every key's own default
     */
    reports: reportsSchema.prefault({}),
    /**
     * Every record that enters the stream, archived to S3 by Firehose (replay, RCA evidence).
     * @default - every key's own default
     */
    archive: archiveSchema.prefault({}),
    /**
     * Third-party usage/cost APIs polled on a schedule (seed 001); one poller Lambda each. See the
     * README, "Third-party usage/cost sources".
     * @default []
     */
    sources: z
      .custom<readonly UsageSourceSettings[]>()
      .optional()
      .transform((raw, ctx): readonly UsageSourceConfig[] => {
        try {
          return parseSourceConfigs(raw);
        } catch (e) {
          for (const message of (e as Error).message.split('\n'))
            ctx.addIssue({ code: 'custom', message, params: { verbatim: true } satisfies IssueStyle });
          return z.NEVER;
        }
      }),
    /**
     * Alarms on the system's own health and the operations dashboard (seed 003).
     * @default - every key's own default
     */
    operations: operationsSchema.prefault({}),
  },
  { error: 'cdk.json context "anomalyGuard" (or the AnomalyGuard props) must be an object' },
);

type DeepReadonly<T> = T extends readonly (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The settings as written (cdk.json context `anomalyGuard`, AnomalyGuard props): every key optional. */
export type AnomalyGuardSettings = DeepReadonly<z.input<typeof anomalyGuardConfigSchema>>;
/** The resolved configuration: validated, every default filled in. */
export type AnomalyGuardConfig = DeepReadonly<z.output<typeof anomalyGuardConfigSchema>>;
export type OperationsConfig = AnomalyGuardConfig['operations'];
export type ArchiveConfig = AnomalyGuardConfig['archive'];
export type ReportsConfig = AnomalyGuardConfig['reports'];
export type ApiConfig = AnomalyGuardConfig['api'];
export type DashboardConfig = AnomalyGuardConfig['dashboard'];
export type UsagePlanQuotaPeriod = ApiConfig['usagePlanQuotaPeriod'];

/** Thrown for settings AWS would reject at deploy time; the message lists every problem, each naming its key. */
export class AnomalyGuardConfigError extends Error {
  override readonly name = 'AnomalyGuardConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid anomalyGuard config:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Validate the settings and fill in the defaults. Throws {@link AnomalyGuardConfigError} naming each offending key. */
export function resolveConfig(settings: unknown): AnomalyGuardConfig {
  const parsed = anomalyGuardConfigSchema.safeParse(settings ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(describeIssue);
  throw new AnomalyGuardConfigError([...new Set(problems)]);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const style = (issue.code === 'custom' ? issue.params : undefined) as IssueStyle | undefined;
  if (style?.verbatim) return issue.message;
  const key = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
  if (!key) return issue.message;
  return style?.detail ? `${key}: ${issue.message}` : `${key} ${issue.message}`;
}

/** Every default, as `resolveConfig({})` returns them. */
export const DEFAULT_CONFIG: AnomalyGuardConfig = resolveConfig({});
