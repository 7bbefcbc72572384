import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { API_ROUTES, accessNeeded, type ApiRoute, routeById } from '../../../lambdas/core/api/routes.js';
import { accessOf, type ApiEvent, apiHandler, callerOf, groupsOf } from '../../../lambdas/handlers/api/http.js';

function event(route: ApiRoute, opts: { claims?: Record<string, string>; body?: unknown } = {}): ApiEvent {
  return {
    headers: { 'content-type': 'application/json' },
    body: route.input.in === 'body' ? JSON.stringify(opts.body ?? { key: 'k' }) : null,
    isBase64Encoded: false,
    queryStringParameters: route.input.in === 'query' ? { tenant: 'acme' } : null,
    requestContext: {
      requestId: 'r1',
      ...(opts.claims && { authorizer: { claims: opts.claims } }),
    },
  };
}

const viewer = { email: 'vera@example.com', 'cognito:username': 'u-1', 'cognito:groups': 'viewer' };
const operator = { email: 'otto@example.com', 'cognito:username': 'u-2', 'cognito:groups': 'viewer,operator' };

const passAnything = z.any();

/** Runs the route with a stub that answers 200 whatever the input (after the handler's own checks). */
async function call(route: ApiRoute, opts: Parameters<typeof event>[1] = {}) {
  const run = vi.fn(async () => ({ status: 200, body: { ran: route.id } }));
  // The role check comes before input validation, so the stub's input need not satisfy every schema.
  const lax: ApiRoute = { ...route, input: { ...route.input, schema: route.input.schema.or(passAnything) } };
  const res = await apiHandler(lax, run)(event(route, opts));
  return { status: res.statusCode, body: JSON.parse(res.body), ran: run.mock.calls.length > 0 };
}

const reads = API_ROUTES.filter((r) => r.access === 'read');
const operates = API_ROUTES.filter((r) => r.access === 'operate');

describe('route access levels', () => {
  it('reads score, report and timeline; operates mitigate, rollback, approve, whitelist, changes and feedback', () => {
    expect(reads.map((r) => r.id).sort()).toEqual(['report', 'score', 'timeline']);
    expect(operates.map((r) => r.id).sort()).toEqual([
      'approve',
      'changes',
      'feedback',
      'mitigate',
      'rollback',
      'whitelist',
    ]);
  });

  it('counts a mitigate dry run as a read, and nothing else', () => {
    const mitigate = routeById('mitigate');
    expect(accessNeeded(mitigate, { key: 'k', dry_run: true })).toBe('read');
    expect(accessNeeded(mitigate, { key: 'k', dry_run: false })).toBe('operate');
    expect(accessNeeded(mitigate, { key: 'k', dry_run: 'true' })).toBe('operate');
    expect(accessNeeded(mitigate, { key: 'k' })).toBe('operate');
    expect(accessNeeded(mitigate, null)).toBe('operate');
    expect(accessNeeded(routeById('rollback'), { key: 'k', dry_run: true })).toBe('operate');
  });
});

describe('cognito:groups', () => {
  it.each([
    ['operator', ['operator']],
    ['viewer,operator', ['viewer', 'operator']],
    ['[viewer operator]', ['viewer', 'operator']],
    ['["viewer","operator"]', ['viewer', 'operator']],
    ['', []],
  ])('reads %j', (claim, groups) => {
    expect(groupsOf(claim)).toEqual(groups);
  });

  it('reads an array and ignores anything else', () => {
    expect(groupsOf(['viewer', 'operator'])).toEqual(['viewer', 'operator']);
    expect(groupsOf(undefined)).toEqual([]);
    expect(groupsOf(42)).toEqual([]);
  });

  it('gives the strongest role: operator implies viewer', () => {
    const role = (groups: string) =>
      accessOf({
        headers: {},
        body: null,
        isBase64Encoded: false,
        queryStringParameters: null,
        requestContext: { authorizer: { claims: { email: 'a@b', 'cognito:groups': groups } } },
      });
    expect(role('operator')).toEqual({ kind: 'user', name: 'a@b', role: 'operator' });
    expect(role('[viewer operator]')).toEqual({ kind: 'user', name: 'a@b', role: 'operator' });
    expect(role('viewer')).toEqual({ kind: 'user', name: 'a@b', role: 'viewer' });
    expect(role('auditors')).toEqual({ kind: 'user', name: 'a@b', role: undefined });
  });
});

describe('role enforcement in apiHandler', () => {
  it.each(reads.map((r) => [r.id, r] as const))('lets a viewer read: %s', async (_id, route) => {
    const r = await call(route, { claims: viewer });
    expect(r).toEqual({ status: 200, body: { ran: route.id }, ran: true });
  });

  it.each(operates.map((r) => [r.id, r] as const))(
    'refuses a viewer on an operate route before it runs: %s',
    async (_id, route) => {
      const r = await call(route, { claims: viewer });
      expect(r.ran).toBe(false);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('Forbidden');
      expect(r.body.error.message).toBe('this needs the operator role; you are signed in as viewer');
      expect(r.body.error.details).toEqual({ route: route.id, needs: 'operator', role: 'viewer' });
    },
  );

  it('refuses a viewer even when the body cannot be read (nothing of an operate route runs)', async () => {
    const route = routeById('rollback');
    const res = await apiHandler(route, vi.fn())({ ...event(route, { claims: viewer }), body: '{not json' });
    expect(res.statusCode).toBe(403);
  });

  it('lets a viewer dry-run a mitigation, but not start one', async () => {
    const mitigate = routeById('mitigate');
    const dry = await call(mitigate, {
      claims: viewer,
      body: { key: 'acme#cqs_p95@2026-11-23T10:15Z', dry_run: true },
    });
    expect(dry).toEqual({ status: 200, body: { ran: 'mitigate' }, ran: true });
    const real = await call(mitigate, {
      claims: viewer,
      body: { key: 'acme#cqs_p95@2026-11-23T10:15Z', dry_run: false },
    });
    expect(real.status).toBe(403);
    expect(real.ran).toBe(false);
  });

  it.each(API_ROUTES.map((r) => [r.id, r] as const))('lets an operator do everything: %s', async (_id, route) => {
    const r = await call(route, { claims: operator });
    expect(r).toEqual({ status: 200, body: { ran: route.id }, ran: true });
    const only = await call(route, { claims: { ...operator, 'cognito:groups': 'operator' } });
    expect(only.status).toBe(200);
  });

  it('refuses a signed-in user in no known group, even to read', async () => {
    for (const claims of [
      { email: 'nobody@example.com' } as Record<string, string>,
      { email: 'nobody@example.com', 'cognito:groups': 'auditors' },
    ]) {
      const r = await call(routeById('report'), { claims });
      expect(r.ran).toBe(false);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('Forbidden');
      expect(r.body.error.message).toContain('this needs the viewer role');
      expect(r.body.error.details).toEqual({ route: 'report', needs: 'viewer', role: null });
    }
  });

  it.each(API_ROUTES.map((r) => [r.id, r] as const))(
    'leaves IAM-signed machines (no claims) their full rights: %s',
    async (_id, route) => {
      const r = await call(route);
      expect(r).toEqual({ status: 200, body: { ran: route.id }, ran: true });
    },
  );

  it('still validates the input of an allowed user', async () => {
    const route = routeById('rollback');
    const res = await apiHandler(route, vi.fn())(event(route, { claims: operator, body: { key: 'nope' } }));
    expect(res.statusCode).toBe(400);
  });
});

describe('callerOf', () => {
  const base = { headers: {}, body: null, isBase64Encoded: false, queryStringParameters: null };

  it('names a signed-in user by email, else by cognito:username', () => {
    expect(callerOf({ ...base, requestContext: { authorizer: { claims: viewer } } })).toBe('cognito:vera@example.com');
    expect(
      callerOf({ ...base, requestContext: { authorizer: { claims: { 'cognito:username': 'u-9', sub: 's' } } } }),
    ).toBe('cognito:u-9');
  });

  it('names the IAM principal, or local without either', () => {
    expect(
      callerOf({
        ...base,
        requestContext: { identity: { userArn: 'arn:aws:iam::123456789012:user/ops', caller: 'AIDA' } },
      }),
    ).toBe('arn:aws:iam::123456789012:user/ops');
    expect(callerOf({ ...base, requestContext: { identity: { caller: 'AIDA' } } })).toBe('AIDA');
    expect(callerOf({ ...base, requestContext: { authorizer: null } })).toBe('local');
    expect(callerOf(base)).toBe('local');
  });
});
