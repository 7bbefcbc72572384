import { z } from 'zod';
import { CHANGE_LOOKBACK_MS } from '../correlator.js';
import { CHANGE_KINDS, eventTime, NAME, nameField } from '../envelope.js';
import { VERDICTS } from '../feedback.js';
import { MINUTE_MS, HOUR_MS, DAY_MS } from '../time.js';

/**
 * Request bodies and query strings of the operator API (docs/architecture.md contract 2): one source for the gateway
 * models, the handlers and the OpenAPI document.
 */

/** A body larger than this is refused before it is parsed (the biggest valid body, 100 signals, is ~15 KB). */
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_SIGNALS_PER_SCORE = 100;
/** The longest range the report and timeline accept. */
export const MAX_RANGE_MS = 31 * DAY_MS;
export const MAX_WHITELIST_MS = 31 * DAY_MS;
/**
 * The longest change window an operator may declare: the consumer looks for changes that started
 * at most this long before an anomaly (CHANGE_LOOKBACK_MS, 14 days), so a longer window would
 * silently stop applying after that.
 */
export const MAX_CHANGE_WINDOW_MS = CHANGE_LOOKBACK_MS;

/** Episode keys: `<tenant>#<signal>@<start minute>Z`, as in alerts and the anomaly records. */
export const EPISODE_KEY =
  /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}#[A-Za-z0-9][A-Za-z0-9._:-]{0,63}(@[^#\s]{1,128})?@\d{4}-\d\d-\d\dT\d\d:\d\dZ$/;
/** Rollback keys: an episode's (`rb-<hash>`) or one action's (`rb-<hash>-<step>`). */
export const ROLLBACK_KEY = /^rb-[0-9a-z]{4,32}(-[A-Za-z0-9._-]{1,64})?$/;

const finiteNumber = () => z.number().refine(Number.isFinite, 'must be a finite number');

export const ScoreRequest = z.strictObject({
  signals: z
    .array(
      z.strictObject({
        tenant: nameField(),
        signal: nameField(),
        value: finiteNumber(),
        ts: eventTime,
        region: nameField().optional(),
      }),
    )
    .min(1)
    .max(MAX_SIGNALS_PER_SCORE),
  context: z
    .strictObject({
      region: nameField().optional(),
      /** Tenants seeing the same anomaly, when the caller knows better than the request shows. */
      tenantsAffected: z.number().int().min(1).max(100_000).optional(),
    })
    .optional(),
});

export const MitigateRequest = z.strictObject({
  key: z.string().max(300).regex(EPISODE_KEY, 'must be an episode key such as acme#cqs_p95@2026-11-23T10:15Z'),
  /** A playbook id instead of the one the class selects. */
  plan: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9-]+$/, 'must be a playbook id (lowercase letters, digits, -)')
    .optional(),
  dry_run: z.boolean().optional(),
});

export const RollbackRequest = z.strictObject({
  key: z.string().max(100).regex(ROLLBACK_KEY, 'must be a rollback key such as rb-1a2b3c4d or rb-1a2b3c4d-cache-ttl'),
});

/** `90m`, `24h`, `7d`. */
const RANGE = /^([1-9]\d{0,3})([mhd])$/;
const range = () =>
  z
    .string()
    .regex(RANGE, 'must be a duration such as 90m, 24h or 7d')
    .refine((r) => !RANGE.test(r) || rangeMs(r) <= MAX_RANGE_MS, 'must be at most 31d');

export const ReportQuery = z.strictObject({ range: range().default('24h') });

export const TimelineQuery = z.strictObject({ range: range().default('24h'), tenant: nameField() });

export const WhitelistRequest = z.strictObject({
  tenant: nameField(),
  window: z
    .strictObject({ from: eventTime, to: eventTime })
    .refine((w) => w.to > w.from, { message: 'to must be after from', path: ['to'] })
    .refine((w) => w.to - w.from <= MAX_WHITELIST_MS, { message: 'the window must be at most 31 days', path: ['to'] }),
  reason: z.string().max(256).optional(),
});

/**
 * A change window declared by an operator: the stream's change record (lambdas/core/envelope.ts,
 * README "Putting records on the stream") with `id` and `until` required, `until` after `ts`, at
 * most MAX_CHANGE_WINDOW_MS long. The only way to declare a platform-wide (`tenant: "*"`) change or
 * one longer than the stream accepts. `v` and `type` may be sent, so a stream record posts as it is.
 */
/** A tenant name, or `*` for every tenant. */
const TENANT_OR_ALL = new RegExp(`^(\\*|${NAME.source.slice(1, -1)})$`);

export const ChangeRequest = z
  .strictObject({
    v: z.literal(1).optional(),
    type: z.literal('change').optional(),
    /** Idempotency key: the same id with the same content is stored once; with other content it is a 409. */
    id: z.string().min(1).max(128),
    ts: eventTime,
    tenant: z
      .string()
      .regex(
        TENANT_OR_ALL,
        "must be '*' (every tenant) or a tenant name: 1-64 characters of letters, digits, '.', '_', ':' or '-', " +
          'starting with a letter or digit',
      ),
    change: z.enum(CHANGE_KINDS),
    until: eventTime,
    region: nameField().optional(),
    title: z.string().max(512).optional(),
  })
  .refine((c) => c.until > c.ts, { message: 'must be after ts', path: ['until'] })
  .refine((c) => c.until - c.ts <= MAX_CHANGE_WINDOW_MS, {
    message: `the window (ts..until) must be at most ${MAX_CHANGE_WINDOW_MS / DAY_MS} days`,
    path: ['until'],
  });

/**
 * An operator's verdict on an anomaly (lambdas/core/feedback.ts): `false_positive` makes its key less
 * sensitive for a while, `expected` answers with the whitelist or change window to declare.
 */
export const FeedbackRequest = z.strictObject({
  key: z.string().max(300).regex(EPISODE_KEY, 'must be an episode key such as acme#cqs_p95@2026-11-23T10:15Z'),
  verdict: z.enum(VERDICTS),
  note: z.string().max(1000).optional(),
});

/** An approval request's key (`rb-<hash>-approve-<stage>`), or an episode's rollback key with one request pending. */
export const APPROVAL_KEY = /^rb-[0-9a-z]{4,32}(-approve-(soft|hard))?$/;

/** An operator's answer to a step that waits for approval (lambdas/core/mitigation/approval.ts). */
export const ApproveRequest = z.strictObject({
  key: z
    .string()
    .max(100)
    .regex(APPROVAL_KEY, 'must be an approval key such as rb-1a2b3c4d-approve-hard (or the episode key rb-1a2b3c4d)'),
  decision: z.enum(['approve', 'deny']),
  reason: z.string().trim().min(1, 'say why: the reason is kept in the ledger').max(500),
});

export type ApproveRequest = z.output<typeof ApproveRequest>;
export type FeedbackRequest = z.output<typeof FeedbackRequest>;
export type ChangeRequest = z.output<typeof ChangeRequest>;
export type ScoreRequest = z.output<typeof ScoreRequest>;
export type MitigateRequest = z.output<typeof MitigateRequest>;
export type RollbackRequest = z.output<typeof RollbackRequest>;
export type ReportQuery = z.output<typeof ReportQuery>;
export type TimelineQuery = z.output<typeof TimelineQuery>;
export type WhitelistRequest = z.output<typeof WhitelistRequest>;

const UNIT_MS = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS } as const;

/** `24h` → 86 400 000. Only called on strings the schema accepted. */
export function rangeMs(range: string): number {
  const m = RANGE.exec(range);
  if (!m) throw new Error(`not a range: ${range}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** The start minute an episode key names. */
export function episodeStart(key: string): number {
  return Date.parse(key.slice(key.lastIndexOf('@') + 1));
}
