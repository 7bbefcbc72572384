import { z } from 'zod';
import { API_ROUTES, type ApiRoute } from './routes.js';
import { MAX_BODY_BYTES } from './schemas.js';

/**
 * OpenAPI 3.0.3 description of the operator API (docs/architecture.md contract 2), built from the same route table the
 * gateway and handlers use.
 */

export interface OpenApiOptions {
  title?: string;
  /** The API contract's version (not the package's): it changes when the contract does. */
  version?: string;
  /** The deployed stage URL, e.g. the stack output `OperatorApiUrl` without its trailing slash. */
  serverUrl?: string;
}

export const OPENAPI_DEFAULTS = { title: 'anomaly-guard operator API', version: '1.0.0' } as const;

type Json = Record<string, unknown>;

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const errorContent = { 'application/json': { schema: ERROR_REF } };

/** Answers every route can give besides its own (gateway validation, IAM, WAF, throttling). */
const SHARED_RESPONSES: Readonly<Record<string, { name: string; description: string }>> = {
  400: {
    name: 'InvalidRequest',
    description:
      'Invalid input: `error.message` and `error.details.fields` name each offending field; ' +
      'malformed JSON is a 400 too',
  },
  403: {
    name: 'Forbidden',
    description:
      'Not signed, bad or expired signature, no execute-api:Invoke permission, or blocked by the web ACL; on the ' +
      "dashboard's API (Cognito sign-in), code `Forbidden`: the user's role lacks the operation's `x-required-role`",
  },
  413: { name: 'PayloadTooLarge', description: `The body is larger than ${MAX_BODY_BYTES} bytes` },
  429: {
    name: 'Throttled',
    description: 'Stage throttle, usage-plan quota or the per-IP rate limit was exceeded; retry with backoff',
  },
};

/** The dashboard role (Cognito group) each access level needs (lambdas/handlers/api/http.ts enforces it). */
const REQUIRED_ROLE = { read: 'viewer', operate: 'operator' } as const;

/** Pure: the same routes always give the same document (docs/openapi.json is checked against it). */
export function openApiDocument(routes: readonly ApiRoute[] = API_ROUTES, opts: OpenApiOptions = {}): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const schemas: Record<string, Json> = { Error: errorSchema() };
  for (const route of routes) {
    const operation: Json = {
      operationId: route.id,
      summary: route.summary,
      tags: ['anomaly'],
      // The dashboard's signed-in users (viewer reads, operator also acts); IAM-signed callers: their IAM policy.
      'x-required-role': REQUIRED_ROLE[route.access],
      ...(route.readOnlyWhen && { 'x-required-role-read-only-request': REQUIRED_ROLE.read }),
    };
    if (route.input.in === 'body') {
      const name = `${pascal(route.id)}Request`;
      schemas[name] = toOpenApiSchema(route.input.schema);
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } },
      };
    } else {
      const json = toOpenApiSchema(route.input.schema) as { properties?: Record<string, Json>; required?: string[] };
      operation.parameters = Object.entries(json.properties ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: (json.required ?? []).includes(name),
        schema,
      }));
    }
    const responses: Record<string, unknown> = {};
    const codes = [...new Set([...Object.keys(route.responses), ...Object.keys(SHARED_RESPONSES)])].sort();
    for (const code of codes) {
      const shared = SHARED_RESPONSES[code];
      const own = route.responses[Number(code)];
      // A route's own meaning of a shared code (e.g. mitigate's 403: denied by the guardrails) comes first.
      if (own !== undefined)
        responses[code] = {
          description: shared ? `${own}. Also: ${shared.description}` : own,
          content: Number(code) >= 400 ? errorContent : { 'application/json': { schema: { type: 'object' } } },
        };
      else if (shared) responses[code] = { $ref: `#/components/responses/${shared.name}` };
    }
    operation.responses = responses;
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: opts.title ?? OPENAPI_DEFAULTS.title,
      version: opts.version ?? OPENAPI_DEFAULTS.version,
      description:
        'Score signals, start, dry-run and roll back mitigations, read reports and timelines, whitelist campaign ' +
        'tenants, declare change windows (maintenance, releases, campaigns; per tenant or platform-wide) and ' +
        'give verdicts on anomalies. Every request is signed with AWS Signature Version 4 (service ' +
        '`execute-api`); every error is `{"error":{"code","message","details"}}`. The dashboard serves the same ' +
        'operations to signed-in users (a Cognito ID token in `Authorization`), each allowed to the role its ' +
        '`x-required-role` names: `viewer` reads (and dry-runs a mitigation: ' +
        '`x-required-role-read-only-request`), `operator` may do everything.',
    },
    ...(opts.serverUrl !== undefined && { servers: [{ url: opts.serverUrl }] }),
    security: [{ sigv4: [] }],
    paths,
    components: {
      securitySchemes: {
        sigv4: { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' },
      },
      schemas,
      responses: Object.fromEntries(
        Object.values(SHARED_RESPONSES).map((r) => [r.name, { description: r.description, content: errorContent }]),
      ),
    },
  };
}

/** A zod input schema as an OpenAPI 3.0 schema object (what a caller may send: defaults make fields optional). */
export function toOpenApiSchema(schema: z.ZodType): Json {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Json;
}

/** lambdas/core/api/errors.ts ErrorBody. */
function errorSchema(): Json {
  return {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'details'],
        additionalProperties: false,
        properties: {
          code: {
            type: 'string',
            description:
              'Machine-readable: InvalidRequest, MalformedJson, PayloadTooLarge, NotFound, Conflict, ' +
              'AccessDenied, Throttled, ...',
            example: 'InvalidRequest',
          },
          message: {
            type: 'string',
            description: 'What went wrong; for invalid input, each field and why',
            example: 'signals[0].value: must be a finite number',
          },
          details: {
            type: 'object',
            additionalProperties: true,
            description: 'Structured context, e.g. `fields: [{field, message}]` or the gateway `requestId`',
          },
        },
      },
    },
  };
}

function pascal(id: string): string {
  return id.charAt(0).toUpperCase() + id.slice(1);
}
