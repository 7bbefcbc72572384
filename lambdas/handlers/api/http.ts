import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ApiError, invalidRequest, type ErrorBody } from '../../core/api/errors.js';
import { accessNeeded, type ApiRoute, type RouteAccess } from '../../core/api/routes.js';
import { MAX_BODY_BYTES } from '../../core/api/schemas.js';

/** What the API handlers read from an API Gateway proxy event (the local server builds the same). */
export type ApiEvent = Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'queryStringParameters' | 'headers'> & {
  requestContext?: {
    requestId?: string;
    identity?: { userArn?: string | null; caller?: string | null; sourceIp?: string };
    /**
     * A Cognito user pools authorizer's verified ID token claims (the dashboard API; the local server's token check
     * builds the same). Absent for IAM-signed requests and on the local runtime without sign-in.
     */
    authorizer?: { claims?: Record<string, string> } | null;
  };
};

export interface ApiResponse {
  status: number;
  body: unknown;
}

export type ApiHandler = (event: ApiEvent) => Promise<APIGatewayProxyResult>;

/** The dashboard's roles (Cognito groups of the same names): an operator is also a viewer. */
export type Role = 'viewer' | 'operator';
export const ROLES: readonly Role[] = ['viewer', 'operator'];
/** The role each kind of access needs. */
export const ROLE_FOR: Readonly<Record<RouteAccess, Role>> = { read: 'viewer', operate: 'operator' };

/**
 * What the caller may do. `machine`: an IAM-signed request (its IAM policy decides which routes it may invoke) or the
 * local runtime without sign-in, full rights as before. `user`: someone signed in to the dashboard, with the strongest
 * role their groups give (none when they are in neither group).
 */
export type Access = { kind: 'machine' } | { kind: 'user'; name: string; role: Role | undefined };

/**
 * The groups of a `cognito:groups` claim. API Gateway REST passes the claim as a string (`operator`,
 * `viewer,operator`); HTTP APIs and some proxies as `[viewer operator]`; a decoded token has an array.
 */
export function groupsOf(claim: unknown): string[] {
  const items = Array.isArray(claim) ? claim.map(String) : typeof claim === 'string' ? [claim] : [];
  return items
    .flatMap((item) => item.replace(/^\s*\[|\]\s*$/g, '').split(/[\s,]+/))
    .map((g) => g.replace(/^["']|["']$/g, ''))
    .filter(Boolean);
}

function claimsOf(event: ApiEvent): Record<string, unknown> | undefined {
  const claims = event.requestContext?.authorizer?.claims;
  return claims && typeof claims === 'object' ? claims : undefined;
}

/** Who the caller is and which role they act in; see {@link Access}. */
export function accessOf(event: ApiEvent): Access {
  const claims = claimsOf(event);
  if (!claims) return { kind: 'machine' };
  const groups = groupsOf(claims['cognito:groups']);
  const role = groups.includes('operator') ? 'operator' : groups.includes('viewer') ? 'viewer' : undefined;
  return { kind: 'user', name: userName(claims), role };
}

/** Whether the caller may make a request that needs `needed`: machines always; users by role. */
export function allows(access: Access, needed: RouteAccess): boolean {
  if (access.kind === 'machine') return true;
  return access.role === 'operator' || (access.role === 'viewer' && needed === 'read');
}

/** The 403 for a signed-in user without the role a request needs. */
export function forbidden(access: Extract<Access, { kind: 'user' }>, route: ApiRoute, needed: RouteAccess): ApiError {
  const role = ROLE_FOR[needed];
  const message = access.role
    ? `this needs the ${role} role; you are signed in as ${access.role}`
    : `this needs the ${role} role; you are signed in as ${access.name} but in neither the viewer nor the ` +
      'operator group: ask an administrator to add you';
  return new ApiError(403, 'Forbidden', message, { route: route.id, needs: role, role: access.role ?? null });
}

function userName(claims: Record<string, unknown>): string {
  const pick = (k: string) => (typeof claims[k] === 'string' && claims[k] ? (claims[k] as string) : undefined);
  return pick('email') ?? pick('cognito:username') ?? pick('username') ?? pick('sub') ?? 'unknown';
}

/**
 * Who asked, as the ledger and the stores record it: `cognito:<email>` for a signed-in dashboard user (or their
 * `cognito:username` without an email claim), the IAM principal API Gateway verified, or `local` on the local
 * runtime without sign-in.
 */
export function callerOf(event: ApiEvent): string {
  const claims = claimsOf(event);
  if (claims) return `cognito:${userName(claims)}`;
  const id = event.requestContext?.identity;
  return id?.userArn || id?.caller || 'local';
}

/**
 * Check the caller's role, parse and validate the route's input, run it, and answer in the contract's shape. A
 * signed-in user without the role the request needs gets a 403 `Forbidden` before anything runs (a viewer may read and
 * dry-run; an operator may do everything); IAM-signed machines are not checked here (their IAM policy is). Bad input is
 * always a 4xx naming the problem; only a fault of ours is a 500, and it is logged.
 */
export function apiHandler<I>(
  route: ApiRoute,
  run: (input: I, event: ApiEvent) => Promise<ApiResponse>,
  logger?: Logger,
): ApiHandler {
  return async (event) => {
    try {
      const access = accessOf(event);
      // Refused before the body is read when no request to the route could be allowed.
      if (access.kind === 'user' && !allows(access, route.readOnlyWhen ? 'read' : route.access))
        throw forbidden(access, route, route.readOnlyWhen ? 'read' : route.access);
      const input = route.input.in === 'body' ? parseBody(event) : (event.queryStringParameters ?? {});
      if (access.kind === 'user') {
        const needed = accessNeeded(route, input);
        if (!allows(access, needed)) throw forbidden(access, route, needed);
      }
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
