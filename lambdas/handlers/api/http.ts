import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError, invalidRequest, type ErrorBody } from '../../core/api/errors.js';
import type { ApiRoute } from '../../core/api/routes.js';
import { MAX_BODY_BYTES } from '../../core/api/schemas.js';

/** What the API handlers read from an API Gateway proxy event (the local server builds the same). */
export type ApiEvent = Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'queryStringParameters' | 'headers'> & {
  requestContext?: {
    requestId?: string;
    identity?: { userArn?: string | null; caller?: string | null; sourceIp?: string };
  };
};

export interface ApiResponse {
  status: number;
  body: unknown;
}

export type ApiHandler = (event: ApiEvent) => Promise<APIGatewayProxyResult>;

/** Who asked: the IAM principal API Gateway verified, or `local` on the local runtime. */
export function callerOf(event: ApiEvent): string {
  const id = event.requestContext?.identity;
  return id?.userArn || id?.caller || 'local';
}

/**
 * Parse and validate the route's input, run it, and answer in the contract's shape. Bad input is
 * always a 4xx naming the problem; only a fault of ours is a 500, and it is logged.
 */
export function apiHandler<I>(
  route: ApiRoute,
  run: (input: I, event: ApiEvent) => Promise<ApiResponse>,
  logger?: Logger,
): ApiHandler {
  return async (event) => {
    try {
      const input = route.input.in === 'body' ? parseBody(event) : (event.queryStringParameters ?? {});
      const parsed = route.input.schema.safeParse(input);
      if (!parsed.success) throw invalidRequest(parsed.error.issues, route.input.in);
      const out = await run(parsed.data as I, event);
      return json(out.status, out.body);
    } catch (e) {
      if (e instanceof ApiError) {
        if (e.status >= 500) logger?.error('request failed', { route: route.id, error: e });
        return json(e.status, e.body());
      }
      const requestId = event.requestContext?.requestId ?? 'local';
      logger?.error('request failed', { route: route.id, requestId, error: e as Error });
      const body: ErrorBody = {
        error: {
          code: 'InternalError',
          message: `internal error; quote request id ${requestId}`,
          details: { requestId },
        },
      };
      return json(500, body);
    }
  };
}

function parseBody(event: ApiEvent): unknown {
  const contentType = header(event, 'content-type');
  if (contentType && !/^application\/([\w.+-]+\+)?json\b/i.test(contentType.trim())) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `content-type must be application/json (got ${contentType.slice(0, 100)})`,
      { contentType: contentType.slice(0, 100) },
    );
  }
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > MAX_BODY_BYTES)
    throw new ApiError(413, 'PayloadTooLarge', `body is ${bytes.byteLength} bytes; the limit is ${MAX_BODY_BYTES}`, {
      bytes: bytes.byteLength,
      limit: MAX_BODY_BYTES,
    });
  const text = bytes.toString('utf8');
  if (!text.trim())
    throw new ApiError(400, 'InvalidRequest', 'body: a JSON object is required', {
      fields: [{ field: 'body', message: 'required' }],
    });
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ApiError(400, 'MalformedJson', `body is not valid JSON: ${(e as Error).message}`, {});
  }
}

function header(event: ApiEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name && v !== undefined) return v;
  return undefined;
}

function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}
