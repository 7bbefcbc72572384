import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ErrorBody } from '../lambdas/core/api/errors.js';
import { MAX_BODY_BYTES } from '../lambdas/core/api/schemas.js';
import type { RouteId } from '../lambdas/core/api/routes.js';
import type { ApiEvent, ApiHandler } from '../lambdas/handlers/api/http.js';
import { API_FUNCTION_LOGICAL_IDS } from '../lib/operator-api.js';
import { MACHINE_KEY_HEADER } from './machine-key.js';
import { resourcesOfType, type CfnTemplate } from './stand-ins.js';

/** A method the synthesized API Gateway serves, and the route whose Lambda integrates it. */
export interface TemplateRoute {
  method: string;
  path: string;
  route: RouteId;
}

/**
 * The routes exactly as synthesized: every AWS::ApiGateway::Method, its path from the Resource
 * chain, and the route from the Lambda its integration invokes.
 */
export function routesFromTemplate(template: CfnTemplate): TemplateRoute[] {
  const resources = new Map(
    resourcesOfType(template, 'AWS::ApiGateway::Resource').map(([id, r]) => [
      id,
      r.Properties as { PathPart: string; ParentId: unknown },
    ]),
  );
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    const r = id === undefined ? undefined : resources.get(id);
    return r ? `${pathOf(r.ParentId)}/${r.PathPart}` : '';
  };
  const routeOfFunction = new Map(
    Object.entries(API_FUNCTION_LOGICAL_IDS).map(([route, fn]) => [fn, route as RouteId]),
  );
  // The same routes are served twice in AWS (the IAM API for machines, the Cognito-authorized one for the dashboard),
  // with the same Lambdas: locally each method and path is served once.
  const routes = new Map<string, TemplateRoute>();
  for (const [, m] of resourcesOfType(template, 'AWS::ApiGateway::Method')) {
    const p = m.Properties as { HttpMethod: string; ResourceId: unknown; Integration?: { Uri?: unknown } };
    const fn = getAttTargets(p.Integration?.Uri)
      .map((id) => routeOfFunction.get(id))
      .find((r) => r !== undefined);
    const path = pathOf(p.ResourceId) || '/';
    const key = `${p.HttpMethod} ${path}`;
    const seen = routes.get(key);
    if (seen && fn && seen.route !== fn)
      throw new Error(`${key} integrates two different routes in the template (${seen.route}, ${fn})`);
    if (fn && !seen) routes.set(key, { method: p.HttpMethod, path, route: fn });
  }
  return [...routes.values()];
}

function getAttTargets(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(getAttTargets);
  if (typeof v !== 'object' || v === null) return [];
  const att = (v as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  return att ? [att[0]] : Object.values(v).flatMap(getAttTargets);
}

export interface ApiServerOptions {
  port: number;
  routes: readonly TemplateRoute[];
  handlers: Readonly<Record<RouteId, ApiHandler>>;
  /** Extra local-only GET endpoints (status pages). */
  extra?: Readonly<Record<string, () => unknown>>;
  /** Static pages by path (the dashboard at `/`), served to GET as they are. */
  pages?: Readonly<Record<string, { type: string; body: string }>>;
  /**
   * Sign-in on: every `/v1/` request needs a valid ID token of the local pool (the Cognito authorizer) or the machine
   * key (IAM's stand-in); the page reads the pool from `/config.json`. Off: open, as before.
   */
  auth?: LocalAuthorizer;
}

/** What the local server needs of the sign-in stand-in (local/sign-in.ts). */
export interface LocalAuthorizer {
  /** `/config.json`'s `auth`: the pool, the client and the Cognito endpoint the page signs in against. */
  config: { region: string; userPoolId: string; clientId: string; endpoint: string };
  /** The claims of a valid ID token (as API Gateway passes them), or undefined. */
  verify(authorization: string | undefined): Promise<Record<string, string> | undefined>;
  /** Accepted instead of a token in `x-local-machine-key`: the CLI, standing in for an IAM-signed machine. */
  machineKey: string;
}

/** The proxy event with what API Gateway's Cognito authorizer adds. */
type AuthorizedEvent = ApiEvent & { requestContext?: { authorizer?: { claims?: Record<string, string> } } };

/**
 * The operator API on 127.0.0.1 over plain HTTP: each request becomes the proxy event API Gateway would send the
 * route's Lambda.
 */
export function serveApi(opts: ApiServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((e: unknown) =>
      send(res, 500, errorBody('InternalError', `local server error: ${(e as Error).message}`)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve(server));
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: ApiServerOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname === '/config.json' && req.method === 'GET')
    return void res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify({ auth: opts.auth?.config ?? null }));
  const page = opts.pages?.[url.pathname];
  if (page && req.method === 'GET')
    return void res
      .writeHead(200, {
        'content-type': page.type,
        'cache-control': 'no-store',
        'content-security-policy': pageCsp(opts.auth?.config.endpoint),
      })
      .end(page.body);
  const who = await authorize(req, opts.auth);
  if (who === 'unauthorized') return send(res, 401, errorBody('Unauthorized', 'Unauthorized'));
  const extra = opts.extra?.[url.pathname];
  if (extra && req.method === 'GET') return send(res, 200, extra());
  const onPath = opts.routes.filter((r) => r.path === url.pathname);
  const route = onPath.find((r) => r.method === req.method);
  if (!route) {
    if (onPath.length)
      return send(
        res,
        405,
        errorBody(
          'MethodNotAllowed',
          `${req.method} is not allowed on ${url.pathname}; use ${onPath.map((r) => r.method).join(', ')}`,
        ),
      );
    return send(res, 404, errorBody('NotFound', `no route for ${req.method} ${url.pathname}`));
  }
  const body = await readBody(req);
  if (body === undefined) return send(res, 413, errorBody('PayloadTooLarge', `body exceeds ${MAX_BODY_BYTES} bytes`));
  const query = url.searchParams.size ? Object.fromEntries(url.searchParams) : null;
  const event: AuthorizedEvent = {
    body: body.length ? body.toString('utf8') : null,
    isBase64Encoded: false,
    // The machine key stays here: handlers (and their logs) never see it.
    headers: Object.fromEntries(
      Object.entries(req.headers)
        .filter(([k]) => k !== MACHINE_KEY_HEADER)
        .map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
    ),
    queryStringParameters: query,
    requestContext: {
      requestId: randomUUID(),
      // Locally there is no IAM: the CLI names its user (x-local-user), recorded as the caller (`local:<user>`).
      identity: {
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        caller: who === 'machine' ? localCaller(req.headers) : null,
        userArn: null,
      },
      ...(who !== 'machine' && { authorizer: { claims: who.claims } }),
    },
  };
  const out: APIGatewayProxyResult = await opts.handlers[route.route](event);
  res.writeHead(out.statusCode, (out.headers ?? {}) as Record<string, string>).end(out.body);
}

/**
 * Without sign-in every caller is a machine, as before. With it: a valid ID token → its claims (the Cognito
 * authorizer); no token but the machine key → a machine (IAM's stand-in); anything else → unauthorized, as API
 * Gateway answers before any Lambda runs.
 */
async function authorize(
  req: IncomingMessage,
  auth: LocalAuthorizer | undefined,
): Promise<'machine' | 'unauthorized' | { claims: Record<string, string> }> {
  if (!auth) return 'machine';
  const token = req.headers.authorization;
  if (token) {
    const claims = await auth.verify(token);
    return claims ? { claims } : 'unauthorized';
  }
  const key = req.headers[MACHINE_KEY_HEADER];
  return typeof key === 'string' && sameSecret(key, auth.machineKey) ? 'machine' : 'unauthorized';
}

function sameSecret(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

function localCaller(headers: IncomingMessage['headers']): string {
  const user = headers['x-local-user'];
  const name = typeof user === 'string' ? user.replace(/[^\w.@-]/g, '').slice(0, 64) : '';
  return name ? `local:${name}` : 'local';
}

/**
 * The page talks only to this server (and, with sign-in, to the Cognito endpoint) and opens report links (local s3rver
 * or S3): nothing else loads.
 */
export function pageCsp(signInEndpoint?: string): string {
  const connect = signInEndpoint ? `'self' ${new URL(signInEndpoint).origin}` : "'self'";
  return (
    `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src ${connect}; img-src ` +
    "'self' data:; base-uri 'none'; form-action 'none'"
  );
}

/** The body, or undefined when it exceeds the limit (the rest is drained, not kept). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message, details: {} } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(body));
}
