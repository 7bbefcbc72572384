/** One GET of a third-party usage API page, with a per-attempt timeout and retries of what retrying can fix. */
export interface SourcePage {
  readonly status: number;
  readonly body: unknown;
  readonly attempts: number;
}

export interface HttpSourceOptions {
  readonly timeoutMs: number;
  /** Attempts counting the first. */
  readonly maxAttempts: number;
  readonly baseDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the attempt fails instead. */
  readonly maxRetryAfterMs?: number;
  /** The largest page body read, in bytes (10 MiB); a longer one is cut off as soon as it is exceeded. */
  readonly maxBytes?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly fetch?: typeof fetch;
}

/** Why a page could not be fetched; `body` holds what the source answered, when it answered. */
export class SourceFetchError extends Error {
  override readonly name = 'SourceFetchError';
  constructor(
    message: string,
    readonly attempts: number,
    readonly status?: number,
    readonly body?: string,
  ) {
    super(message);
  }
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
export const DEFAULT_MAX_PAGE_BYTES = 10 * 1024 * 1024;

export async function fetchSourcePage(
  url: string,
  headers: Readonly<Record<string, string>>,
  opts: HttpSourceOptions,
): Promise<SourcePage> {
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const base = opts.baseDelayMs ?? 500;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_PAGE_BYTES;
  const where = redactedUrl(url);
  for (let attempt = 1; ; attempt++) {
    let retryAfterMs: number | undefined;
    let failure: SourceFetchError;
    // Aborted by the timeout, or by readLimited as soon as a body outgrows the limit (which closes the connection).
    const cutOff = new AbortController();
    // The attempt's deadline is a timer held here, raced against the request: an AbortSignal.timeout linked through
    // AbortSignal.any can lose its link under GC pressure, and a request that misses the abort would hang the poll.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const timeout = new DOMException(`no answer within ${opts.timeoutMs} ms`, 'TimeoutError');
        cutOff.abort(timeout);
        reject(timeout);
      }, opts.timeoutMs);
    });
    deadline.catch(() => {});
    try {
      // Redirects are not followed: the credential header must only ever go to the configured origin.
      const res = await Promise.race([
        doFetch(url, {
          method: 'GET',
          headers: { accept: 'application/json', ...headers },
          redirect: 'manual',
          signal: cutOff.signal,
        }),
        deadline,
      ]);
      const text = await Promise.race([readLimited(res, maxBytes, attempt, cutOff), deadline]);
      if (res.status >= 200 && res.status < 300) {
        try {
          return { status: res.status, body: text.trim() ? JSON.parse(text) : null, attempts: attempt };
        } catch (e) {
          throw new SourceFetchError(
            `${where} answered ${res.status} with a body that is not JSON: ${(e as Error).message}`,
            attempt,
            res.status,
            text,
          );
        }
      }
      if (res.status >= 300 && res.status < 400)
        throw new SourceFetchError(
          `${where} redirected (${res.status}) to ${res.headers.get('location') ?? 'nowhere'}; set the source url ` +
            `to the final location`,
          attempt,
          res.status,
          text,
        );
      failure = new SourceFetchError(
        `${where} answered HTTP ${res.status}${attempt > 1 ? ` after ${attempt} attempts` : ''}`,
        attempt,
        res.status,
        text,
      );
      if (!RETRYABLE_STATUS.has(res.status)) throw failure;
      retryAfterMs = retryAfter(res.headers.get('retry-after'));
    } catch (e) {
      if (e instanceof SourceFetchError) throw e;
      const err = e as Error;
      const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError';
      const cause = (err.cause as Error | undefined)?.message;
      const what = timedOut
        ? `did not answer within ${opts.timeoutMs} ms`
        : `could not be reached: ${cause ?? err.message}`;
      failure = new SourceFetchError(`${where} ${what}${attempt > 1 ? ` (${attempt} attempts)` : ''}`, attempt);
    } finally {
      clearTimeout(timer);
    }
    if (attempt >= opts.maxAttempts) throw failure;
    if (retryAfterMs !== undefined && retryAfterMs > (opts.maxRetryAfterMs ?? 30_000))
      throw new SourceFetchError(
        `${failure.message}; it asked to retry after ${Math.round(retryAfterMs / 1000)} s`,
        attempt,
        failure.status,
        failure.body,
      );
    // Full jitter, so sources polled by several deployments are not retried in lockstep.
    await sleep(retryAfterMs ?? Math.round(Math.random() * base * 2 ** (attempt - 1)));
  }
}

/**
 * The body as text, read chunk by chunk and never more than `maxBytes` of it: a response without a
 * content-length (chunked) is cut off, and its connection closed, as soon as it passes the limit.
 */
async function readLimited(res: Response, maxBytes: number, attempt: number, cutOff: AbortController): Promise<string> {
  const tooLarge = (size: string) =>
    new SourceFetchError(
      `the response is ${size}; the limit is ${maxBytes} bytes per page (maxBytes)`,
      attempt,
      res.status,
    );
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    cutOff.abort();
    throw tooLarge(`${declared} bytes`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      cutOff.abort();
      await reader.cancel().catch(() => {});
      throw tooLarge(`more than ${maxBytes} bytes (stopped reading after ${size})`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** Query strings can carry tokens (some vendors insist): logs and dead letters show only origin and path. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
