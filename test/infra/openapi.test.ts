import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../lambdas/core/api/errors.js';
import { openApiDocument, toOpenApiSchema } from '../../lambdas/core/api/openapi.js';
import { API_ROUTES } from '../../lambdas/core/api/routes.js';
import { LOGICAL_IDS } from '../../lib/anomaly-guard-stack.js';
import { PROJECT_ROOT } from '../../lib/anomaly-guard-app.js';
import { synthTemplate } from '../../lib/synth.js';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

describe('OpenAPI document', () => {
  const doc = openApiDocument() as any;

  it('is committed as docs/openapi.json, exactly as generated', () => {
    const committed = JSON.parse(readFileSync(join(PROJECT_ROOT, 'docs/openapi.json'), 'utf8'));
    expect(committed, 'docs/openapi.json is stale: run `npm run cli -- openapi --out docs/openapi.json`').toEqual(doc);
  });

  it('describes the same (method, path) pairs the synthesized API Gateway serves', () => {
    const template = synthTemplate({}, { bundle: false, nag: false });
    const resources = template.Resources as Record<string, { Type: string; Properties: any }>;
    const pathOf = (resourceRef: unknown): string => {
      const parts: string[] = [];
      let ref = resourceRef as { Ref?: string } | undefined;
      while (ref?.Ref) {
        const r = resources[ref.Ref]!;
        parts.unshift(r.Properties.PathPart);
        ref = r.Properties.ParentId;
      }
      expect(ref).toEqual({ 'Fn::GetAtt': [LOGICAL_IDS.operatorApi, 'RootResourceId'] });
      return `/${parts.join('/')}`;
    };
    // Both APIs serve the same pairs: the IAM-signed one and the dashboard's (dashboard.test.ts compares them).
    const deployed = Object.values(resources)
      .filter(
        (r) =>
          r.Type === 'AWS::ApiGateway::Method' &&
          JSON.stringify(r.Properties.RestApiId) === `{"Ref":"${LOGICAL_IDS.operatorApi}"}`,
      )
      .map((m) => `${String(m.Properties.HttpMethod).toUpperCase()} ${pathOf(m.Properties.ResourceId)}`)
      .sort();
    const described = Object.entries<Record<string, unknown>>(doc.paths)
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter((k) => HTTP_METHODS.includes(k))
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    expect(described).toEqual(deployed);
    expect(described).toHaveLength(API_ROUTES.length);
  });

  it('names the dashboard role each operation needs (viewer reads and dry-runs, operator acts)', () => {
    for (const route of API_ROUTES) {
      const op = doc.paths[route.path][route.method.toLowerCase()];
      expect(op['x-required-role'], route.id).toBe(route.access === 'read' ? 'viewer' : 'operator');
    }
    expect(doc.paths['/v1/anomaly/mitigate'].post['x-required-role-read-only-request']).toBe('viewer');
    expect(doc.components.responses.Forbidden.description).toContain('x-required-role');
  });

  it('requires SigV4 on every operation', () => {
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.security).toEqual([{ sigv4: [] }]);
    expect(doc.components.securitySchemes.sigv4).toEqual({
      type: 'apiKey',
      name: 'Authorization',
      in: 'header',
      'x-amazon-apigateway-authtype': 'awsSigv4',
    });
    for (const item of Object.values<any>(doc.paths))
      for (const op of Object.values<any>(item)) expect(op.security).toBeUndefined();
  });

  it("takes bodies and query parameters from the routes' zod schemas", () => {
    for (const route of API_ROUTES) {
      const op = doc.paths[route.path][route.method.toLowerCase()];
      expect(op.operationId).toBe(route.id);
      const schema = toOpenApiSchema(route.input.schema) as {
        properties: Record<string, unknown>;
        required?: string[];
      };
      if (route.input.in === 'body') {
        const ref = op.requestBody.content['application/json'].schema.$ref as string;
        expect(doc.components.schemas[ref.replace('#/components/schemas/', '')]).toEqual(schema);
        expect(op.parameters).toBeUndefined();
      } else {
        expect(op.requestBody).toBeUndefined();
        expect(op.parameters.map((p: any) => [p.name, p.in, p.required])).toEqual(
          Object.keys(schema.properties).map((n) => [n, 'query', (schema.required ?? []).includes(n)]),
        );
      }
    }
    const timeline = doc.paths['/v1/anomaly/timeline'].get.parameters;
    expect(timeline.find((p: any) => p.name === 'tenant').required).toBe(true);
    expect(timeline.find((p: any) => p.name === 'range').required).toBe(false);
  });

  it("lists each route's own responses and the shared 400/403/413/429, errors in the ErrorBody shape", () => {
    for (const route of API_ROUTES) {
      const responses = doc.paths[route.path][route.method.toLowerCase()].responses;
      expect(Object.keys(responses).sort()).toEqual(
        [...new Set([...Object.keys(route.responses), '400', '403', '413', '429'])].sort(),
      );
      for (const [code, r] of Object.entries<any>(responses)) {
        const resolved = r.$ref ? doc.components.responses[r.$ref.replace('#/components/responses/', '')] : r;
        expect(resolved.description, `${route.id} ${code}`).toBeTruthy();
        if (Number(code) >= 400)
          expect(resolved.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
    const error = doc.components.schemas.Error;
    const body = new ApiError(404, 'NotFound', 'no anomaly with this key').body();
    expect(error.required).toEqual(Object.keys(body));
    expect(error.properties.error.required.sort()).toEqual(Object.keys(body.error).sort());
  });

  it('adds the server only when given', () => {
    expect(doc.servers).toBeUndefined();
    expect(
      (openApiDocument(undefined, { serverUrl: 'https://x.execute-api.eu-west-1.amazonaws.com/prod' }) as any).servers,
    ).toEqual([{ url: 'https://x.execute-api.eu-west-1.amazonaws.com/prod' }]);
  });
});
