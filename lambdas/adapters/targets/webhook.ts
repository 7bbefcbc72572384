import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AppliedAction, PlannedAction } from '../../core/mitigation/actions.js';
import type { ActionTarget } from '../../core/ports/action-target.js';

export interface WebhookConfig {
  /** https:// (plain http only to a loopback host, for local runs and tests). */
  url: string;
  /** Secrets Manager secret holding the HMAC key (the caller resolves it; see WebhookOptions.secret). */
  secretArn: string;
  /** Per-attempt timeout. @default 5000 */
  timeoutMs?: number;
  /** Attempts in all, the first included. @default 4 */
  maxAttempts?: number;
}

export interface WebhookOptions {
  /**
   * The HMAC key, or a function returning it, asked at every delivery (first use included) so a
   * rotated key is used as soon as the function returns it; the function does its own caching
   * (see cachedSecretReader).
   */
  secret: string | (() => Promise<string>);
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Wall clock for the signature timestamp (receivers check it against theirs). */
  clock?: () => number;
  /** First retry delay; doubles each attempt, with jitter, capped at 5 s. @default 250 */
  baseDelayMs?: number;
}

export const SIGNATURE_HEADER = 'x-anomaly-guard-signature';
export const EVENT_HEADER = 'x-anomaly-guard-event';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export type WebhookEventType = 'anomaly-guard.action.applied' | 'anomaly-guard.action.rolled-back';

/** The JSON body POSTed to the webhook. */
export interface WebhookEvent {
  type: WebhookEventType;
  /** Stable per event: the same apply (or rollback) always carries the same id; receivers dedupe on it. */
  id: string;
  rollbackKey: string;
  episodeId: string;
  tenant: string;
  region?: string;
  step: PlannedAction['step'];
  /** When the event was produced (epoch ms). */
  at: number;
}

/** Permanent: the receiver answered 4xx (other than 408/429): retrying the same request cannot help. */
export class WebhookRejectedError extends Error {
  override readonly name = 'WebhookRejectedError';
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`webhook rejected the event: HTTP ${status}${body ? `: ${body}` : ''}`);
  }
}

/** Transient: every attempt failed with 5xx, 408/429, a timeout or a network error. */
export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
}

/**
 * A signed HTTPS webhook. Each event is a JSON POST with
 * - `x-anomaly-guard-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
 *   (as Stripe does: the receiver recomputes it over the raw body and rejects stale timestamps);
 * - `idempotency-key`: the rollback key for an apply, `<rollback key>:rollback` for a rollback
 *   (percent-encoded if not ASCII) — the receiver must apply each key once (retries and repeated
 *   applies resend the same key); the body's `id` carries the same value;
 * - `x-anomaly-guard-event`: the event type.
 * 5xx, 408, 429, timeouts and network errors are retried with exponential backoff (each attempt
 * signed afresh, same body); any other 4xx fails at once. previous is null (the receiver owns the
 * state); a step with undo 'none' sends no rollback event.
 */
export class WebhookTarget implements ActionTarget {
  readonly kind = 'webhook' as const;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: () => number;

  constructor(
    private readonly config: WebhookConfig,
    private readonly options: WebhookOptions,
  ) {
    const url = new URL(config.url);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
      throw new Error(`webhook.url must be https:// (got ${url.protocol}//${url.host})`);
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.clock = options.clock ?? Date.now;
  }

  async apply(action: PlannedAction, now: number): Promise<AppliedAction> {
    await this.deliver(event('anomaly-guard.action.applied', action, action.rollbackKey, now));
    return { ...action, previous: null, appliedAt: now };
  }

  async rollback(applied: AppliedAction, now: number): Promise<void> {
    if (applied.step.undo === 'none') return;
    const { previous: _p, appliedAt: _a, targetRef: _t, ...action } = applied;
    await this.deliver(event('anomaly-guard.action.rolled-back', action, `${applied.rollbackKey}:rollback`, now));
  }

  private async deliver(evt: WebhookEvent): Promise<void> {
    const body = JSON.stringify(evt);
    const secret = typeof this.options.secret === 'string' ? this.options.secret : await this.options.secret();
    const maxAttempts = this.config.maxAttempts ?? 4;
    const timeoutMs = this.config.timeoutMs ?? 5000;
    let last = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const t = Math.floor(this.clock() / 1000);
        const res = await this.fetch(this.config.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'anomaly-guard-webhook/1',
            [SIGNATURE_HEADER]: signatureHeader(secret, t, body),
            [IDEMPOTENCY_HEADER]: headerSafe(evt.id),
            [EVENT_HEADER]: evt.type,
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = (await res.text().catch(() => '')).slice(0, 300);
        if (res.status >= 200 && res.status < 300) return;
        if (res.status < 500 && res.status !== 408 && res.status !== 429)
          throw new WebhookRejectedError(res.status, text);
        last = `HTTP ${res.status}`;
        const ra = Number(res.headers.get('retry-after'));
        if (Number.isFinite(ra) && ra > 0) retryAfterMs = Math.min(ra * 1000, 30_000);
      } catch (e) {
        if (e instanceof WebhookRejectedError) throw e;
        last = (e as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `${(e as Error).message}`;
      }
      if (attempt < maxAttempts) await this.sleep(retryAfterMs ?? backoffMs(attempt, this.options.baseDelayMs ?? 250));
    }
    throw new WebhookDeliveryError(
      `webhook ${evt.type} ${evt.id} not delivered after ${maxAttempts} attempts (last: ${last})`,
    );
  }
}

function event(type: WebhookEventType, action: PlannedAction, id: string, now: number): WebhookEvent {
  return {
    type,
    id,
    rollbackKey: action.rollbackKey,
    episodeId: action.episodeId,
    tenant: action.tenant,
    ...(action.region !== undefined && { region: action.region }),
    step: action.step,
    at: now,
  };
}

/** Header values must be visible ASCII; anything else is percent-encoded. */
function headerSafe(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v);
}

function backoffMs(attempt: number, base: number): number {
  return Math.min(5000, base * 2 ** (attempt - 1)) * (0.75 + Math.random() / 2);
}

export function signatureHeader(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`;
}

/**
 * For receivers (and tests): the signature is valid for this raw body and the timestamp is within
 * `toleranceSeconds` of `nowMs`.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined | null,
  rawBody: string,
  nowMs: number,
  toleranceSeconds = 300,
): boolean {
  if (!header) return false;
  const parts = new Map(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || !v1 || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(nowMs / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}
