import { search } from '@aws-lambda-powertools/jmespath';

/**
 * A third-party usage/cost API the poller fetches on a schedule (seed 001), as configured in
 * `cdk.json` context `anomalyGuard.sources`. Expressions are JMESPath (the language of the AWS CLI's
 * `--query`); string constants are raw literals, e.g. `'cdn_egress_usd'`.
 */
export interface UsageSourceConfig {
  /** Lower-case letters, digits and '-': names the Lambda, its schedule and the ids of its records. */
  readonly name: string;
  /**
   * GET URL. `{windowStart}`, `{windowEnd}` (ISO-8601), `{windowStartEpoch}`, `{windowEndEpoch}` (seconds)
   * and `{windowStartMs}`, `{windowEndMs}` are replaced with the polled window, URL-encoded.
   */
  readonly url: string;
  readonly scheduleMinutes: number;
  /** The polled window ends this many minutes before the scheduled time (for APIs that publish late). */
  readonly lagMinutes: number;
  readonly timeoutSeconds: number;
  /** HTTP attempts per page, counting the first (network errors, 429 and 5xx are retried). */
  readonly maxAttempts: number;
  /** Pages followed at most per poll. */
  readonly maxPages: number;
  /** Non-secret request headers (e.g. Accept, an API version). */
  readonly headers: Readonly<Record<string, string>>;
  readonly auth?: SourceAuth;
  readonly pagination?: SourcePagination;
  readonly mapping: readonly MappingRule[];
}

export interface SourceAuth {
  /**
   * The Secrets Manager secret holding the credential: its complete ARN (ending in the six characters
   * Secrets Manager appends), or its name in this account and region. The poller may read only this secret.
   */
  readonly secret: string;
  /**
   * `bearer`: `Authorization: Bearer <token>`; `header`: `<header>: <token>`; `basic`: the secret is JSON
   * `{"username","password"}`. For the first two the secret is the token itself, or JSON `{"token"}`.
   */
  readonly scheme: 'bearer' | 'header' | 'basic';
  /** Required for `header`. */
  readonly header?: string;
  /** The customer-managed KMS key the secret is encrypted with; omit for the AWS-managed `aws/secretsmanager` key. */
  readonly kmsKeyArn?: string;
}

export interface SourcePagination {
  /** Evaluated on each response: the next page's URL, or a cursor for `param`; null/empty ends paging. */
  readonly next: string;
  /** When set, the value of `next` is sent as this query parameter on the same URL; otherwise it is a URL. */
  readonly param?: string;
}

export interface MappingRule {
  /** Selects the items (an array, or one object) in the response body. */
  readonly records: string;
  readonly type: 'metric' | 'change' | 'activity';
  /**
   * Envelope field → expression evaluated on each item. Metric records need tenant, signal, value and
   * ts; change records tenant, change and ts; activity records key, tenant, action and ts. Without an
   * `id`, one is derived from the record's identity (not its value), so re-polling the same window is
   * deduplicated by the consumer.
   */
  readonly fields: Readonly<Record<string, string>>;
}

export const SOURCE_DEFAULTS = {
  scheduleMinutes: 5,
  lagMinutes: 0,
  timeoutSeconds: 10,
  maxAttempts: 3,
  maxPages: 20,
} as const;

const REQUIRED_FIELDS: Record<MappingRule['type'], readonly string[]> = {
  metric: ['tenant', 'signal', 'value', 'ts'],
  change: ['tenant', 'change', 'ts'],
  activity: ['key', 'tenant', 'action', 'ts'],
};
const ENVELOPE_FIELDS = new Set([
  'id',
  'ts',
  'region',
  'tenant',
  'signal',
  'value',
  'dims',
  'key',
  'action',
  'attrs',
  'change',
  'until',
  'title',
]);
const SOURCE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const SECRET = new RegExp(
  String.raw`^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}` +
    '|[A-Za-z0-9/_+=.@-]{1,512})$',
);

/**
 * Fill in defaults and reject what would fail at run time, naming the source and the field. Throws
 * with every problem found.
 */
export function parseSourceConfigs(raw: unknown): UsageSourceConfig[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new Error('sources must be a list');
  const problems: string[] = [];
  const names = new Set<string>();
  const sources = raw.map((s, i) => {
    const where = `sources[${i}]${isObject(s) && typeof s.name === 'string' ? ` (${s.name})` : ''}`;
    const problem = (m: string) => problems.push(`${where}.${m}`);
    if (!isObject(s)) {
      problems.push(`${where} must be an object`);
      return undefined;
    }
    const c = { ...SOURCE_DEFAULTS, headers: {}, ...s } as Record<string, unknown>;
    if (typeof c.name !== 'string' || !SOURCE_NAME.test(c.name))
      problem(`name must be 1-32 lower-case letters, digits or '-' (got ${JSON.stringify(c.name)})`);
    else if (names.has(c.name)) problem('name is used by another source');
    else names.add(c.name);
    checkUrl(c.url, problem);
    intIn(c.scheduleMinutes, 1, 1440, 'scheduleMinutes', problem);
    intIn(c.lagMinutes, 0, 1440, 'lagMinutes', problem);
    intIn(c.timeoutSeconds, 1, 60, 'timeoutSeconds', problem);
    intIn(c.maxAttempts, 1, 10, 'maxAttempts', problem);
    intIn(c.maxPages, 1, 1000, 'maxPages', problem);
    if (
      !isObject(c.headers) ||
      Object.entries(c.headers).some(([k, v]) => !HEADER_NAME.test(k) || typeof v !== 'string')
    )
      problem('headers must map header names to strings');
    else if (Object.keys(c.headers).some((k) => k.toLowerCase() === 'authorization'))
      problem('headers must not carry Authorization: put the credential in a Secrets Manager secret and set auth');
    if (c.auth !== undefined) checkAuth(c.auth, problem);
    if (c.pagination !== undefined) {
      const p = c.pagination;
      if (!isObject(p)) problem('pagination must be an object');
      else {
        checkExpression(p.next, 'pagination.next', problem);
        if (p.param !== undefined && (typeof p.param !== 'string' || !p.param))
          problem('pagination.param must be a query parameter name');
      }
    }
    if (!Array.isArray(c.mapping) || !c.mapping.length) problem('mapping must be a non-empty list of rules');
    else c.mapping.forEach((r, j) => checkRule(r, `mapping[${j}]`, problem));
    return c as unknown as UsageSourceConfig;
  });
  if (problems.length) throw new Error(problems.join('\n'));
  return sources as UsageSourceConfig[];
}

function checkUrl(url: unknown, problem: (m: string) => void): void {
  if (typeof url !== 'string') return problem('url is required');
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/\{[A-Za-z]+\}/g, '0'));
  } catch {
    return problem(`url is not a URL: ${url}`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  // Credentials travel with every request: plain HTTP only to a local test source.
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback))
    problem('url must be https (http only for 127.0.0.1/localhost)');
  if (parsed.username || parsed.password)
    problem('url must not embed credentials: use auth with a Secrets Manager secret');
  const unknown = [...url.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]!).filter((p) => !WINDOW_PLACEHOLDERS.has(p));
  if (unknown.length)
    problem(
      `url has unknown placeholders ${unknown.map((p) => `{${p}}`).join(', ')} (known: ` +
        `${[...WINDOW_PLACEHOLDERS].map((p) => `{${p}}`).join(', ')})`,
    );
}

export const WINDOW_PLACEHOLDERS = new Set([
  'windowStart',
  'windowEnd',
  'windowStartEpoch',
  'windowEndEpoch',
  'windowStartMs',
  'windowEndMs',
]);

function checkAuth(auth: unknown, problem: (m: string) => void): void {
  if (!isObject(auth)) return problem('auth must be an object');
  if (typeof auth.secret !== 'string' || !SECRET.test(auth.secret))
    problem(
      'auth.secret must be a Secrets Manager secret name, or its complete ARN (with the six-character suffix, as ' +
        'the console shows it)',
    );
  if (!['bearer', 'header', 'basic'].includes(auth.scheme as string))
    problem(`auth.scheme must be "bearer", "header" or "basic" (got ${JSON.stringify(auth.scheme)})`);
  if (
    auth.kmsKeyArn !== undefined &&
    (typeof auth.kmsKeyArn !== 'string' ||
      !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(auth.kmsKeyArn))
  )
    problem('auth.kmsKeyArn must be a KMS key ARN');
  if (auth.scheme === 'header' && (typeof auth.header !== 'string' || !HEADER_NAME.test(auth.header)))
    problem('auth.header must name the header that carries the token');
}

function checkRule(rule: unknown, where: string, problem: (m: string) => void): void {
  if (!isObject(rule)) return problem(`${where} must be an object`);
  checkExpression(rule.records, `${where}.records`, problem);
  const type = rule.type as MappingRule['type'];
  if (!(type in REQUIRED_FIELDS))
    return problem(`${where}.type must be "metric", "change" or "activity" (got ${JSON.stringify(rule.type)})`);
  if (!isObject(rule.fields)) return problem(`${where}.fields must map envelope fields to expressions`);
  const fields = rule.fields;
  const missing = REQUIRED_FIELDS[type].filter((f) => fields[f] === undefined);
  if (missing.length) problem(`${where}.fields is missing ${missing.join(', ')} for ${type} records`);
  for (const [f, expr] of Object.entries(fields)) {
    if (!ENVELOPE_FIELDS.has(f)) problem(`${where}.fields.${f} is not an envelope field`);
    else checkExpression(expr, `${where}.fields.${f}`, problem);
  }
}

function checkExpression(expr: unknown, where: string, problem: (m: string) => void): void {
  if (typeof expr !== 'string' || !expr.trim()) return problem(`${where} must be a JMESPath expression`);
  try {
    search(expr, {});
  } catch (e) {
    // Only syntax errors: evaluating on an empty document can also raise type errors that real data would not.
    if (/parse|lexer|incomplete|empty|unknown function|arity/i.test(`${(e as Error).name} ${(e as Error).message}`))
      problem(`${where} is not valid JMESPath: ${(e as Error).message}`);
  }
}

function intIn(v: unknown, lo: number, hi: number, name: string, problem: (m: string) => void): void {
  if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi)
    problem(`${name} must be an integer in ${lo}..${hi} (got ${JSON.stringify(v)})`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
