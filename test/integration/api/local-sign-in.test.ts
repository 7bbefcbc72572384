import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callOperatorApi } from '../../../bin/operator-api-client.js';
import { addUser, localUserCode } from '../../../bin/users.js';
import type { RouteId } from '../../../lambdas/core/api/routes.js';
import type { ApiEvent, ApiHandler } from '../../../lambdas/handlers/api/http.js';
import { serveApi, type TemplateRoute } from '../../../local/api-server.js';
import { readSignInState } from '../../../local/machine-key.js';
import { type LocalSignIn, startLocalSignIn, totpCode } from '../../../local/sign-in.js';

const require = createRequire(import.meta.url);

/** The events the fake route handler was given. */
const seen: ApiEvent[] = [];
const echo: ApiHandler = async (event) => {
  seen.push(event);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
};
const ROUTES: TemplateRoute[] = [{ method: 'GET', path: '/v1/anomaly/report', route: 'report' }];
const handlers = { report: echo } as unknown as Record<RouteId, ApiHandler>;
const listen = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

/** The user's tokens after the password and the TOTP code, as the page gets them. */
async function signInAs(signIn: LocalSignIn, email: string, password: string, secret: string) {
  const call = async (op: string, body: object) => {
    const r = await fetch(signIn.config.endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': `AWSCognitoIdentityProviderService.${op}`,
      },
      body: JSON.stringify(body),
    });
    return (await r.json()) as Record<string, unknown>;
  };
  const first = await call('InitiateAuth', {
    AuthFlow: 'USER_PASSWORD_AUTH',
    ClientId: signIn.config.clientId,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  expect(first).toMatchObject({ ChallengeName: 'SOFTWARE_TOKEN_MFA' });
  const done = (await call('RespondToAuthChallenge', {
    ChallengeName: 'SOFTWARE_TOKEN_MFA',
    ClientId: signIn.config.clientId,
    Session: first.Session,
    ChallengeResponses: {
      USERNAME: (first.ChallengeParameters as { USER_ID_FOR_SRP: string }).USER_ID_FOR_SRP,
      SOFTWARE_TOKEN_MFA_CODE: totpCode(secret),
    },
  })) as { AuthenticationResult: { IdToken: string; AccessToken: string; RefreshToken: string } };
  const refreshed = (await call('InitiateAuth', {
    AuthFlow: 'REFRESH_TOKEN_AUTH',
    ClientId: signIn.config.clientId,
    AuthParameters: { REFRESH_TOKEN: done.AuthenticationResult.RefreshToken },
  })) as { AuthenticationResult?: { IdToken: string } };
  return { ...done.AuthenticationResult, refreshedIdToken: refreshed.AuthenticationResult?.IdToken };
}

describe('local sign-in: the Cognito stand-in and the local server as the Cognito authorizer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ag-sign-in-'));
  let signIn: LocalSignIn;
  let server: Server;
  let open: Server;
  let base = '';

  beforeAll(async () => {
    signIn = await startLocalSignIn(dir);
    server = await serveApi({
      port: 0,
      routes: ROUTES,
      handlers,
      pages: { '/': { type: 'text/html', body: '<p>page</p>' } },
      extra: { '/v1/local/summary': () => ({ up: true }) },
      auth: signIn,
    });
    base = listen(server);
    signIn.serving(base);
    open = await serveApi({ port: 0, routes: ROUTES, handlers });
  });
  afterAll(async () => {
    for (const s of [server, open]) await new Promise<void>((r) => s.close(() => r()));
    await signIn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets up the pool like the deployed one and seeds a viewer and an operator with TOTP', () => {
    expect(signIn.config).toMatchObject({
      region: 'us-east-1',
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/),
    });
    expect(signIn.users.map((u) => [u.email, u.role])).toEqual([
      ['viewer@example.com', 'viewer'],
      ['operator@example.com', 'operator'],
    ]);
    for (const u of signIn.users) {
      expect(u.password.length).toBeGreaterThanOrEqual(14);
      expect(u.password).toMatch(/[A-Z]/);
      expect(u.password).toMatch(/[a-z]/);
      expect(u.password).toMatch(/\d/);
      expect(u.password).toMatch(/[^A-Za-z0-9]/);
      expect(u.totpSecret).toMatch(/^[A-Z2-7]{16,}$/);
    }
    // The CLI's file: the pool, the machine key, the secrets; only the user may read it.
    const state = readSignInState(dir)!;
    expect(state).toMatchObject({ userPoolId: signIn.config.userPoolId, machineKey: signIn.machineKey, api: base });
    expect(Object.keys(state.totpSecrets)).toEqual(['viewer@example.com', 'operator@example.com']);
    expect(statSync(join(dir, 'sign-in.json')).mode & 0o077).toBe(0);
  });

  it('serves /config.json and keeps the CSP tight: the Cognito endpoint is the only other origin', async () => {
    expect(await (await fetch(`${base}/config.json`)).json()).toEqual({ auth: signIn.config });
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-security-policy')).toContain(
      `connect-src 'self' ${new URL(signIn.config.endpoint).origin};`,
    );
    expect(await (await fetch(`${listen(open)}/config.json`)).json()).toEqual({ auth: null });
    expect((await fetch(`${listen(open)}/v1/anomaly/report`)).status).toBe(200);
  });

  it('answers 401 Unauthorized before any handler runs without a valid ID token or the machine key', async () => {
    const before = seen.length;
    const viewer = signIn.users[0]!;
    const tokens = await signInAs(signIn, viewer.email, viewer.password, viewer.totpSecret);
    const privateKey = (require('cognito-local/lib/keys/cognitoLocal.private.json') as { pem: string }).pem;
    const jwt = require('jsonwebtoken') as { sign(p: object, k: string, o: object): string };
    const now = Math.floor(Date.now() / 1000);
    const expired = jwt.sign(
      { token_use: 'id', email: viewer.email, 'cognito:groups': ['operator'], iat: now - 7200, exp: now - 3600 },
      privateKey,
      {
        algorithm: 'RS256',
        keyid: 'CognitoLocal',
        issuer: `${signIn.config.endpoint.replace(/\/$/, '')}/${signIn.config.userPoolId}`,
        audience: signIn.config.clientId,
      },
    );
    const otherClient = jwt.sign({ token_use: 'id', email: viewer.email }, privateKey, {
      algorithm: 'RS256',
      keyid: 'CognitoLocal',
      expiresIn: '1h',
      issuer: `${signIn.config.endpoint.replace(/\/$/, '')}/${signIn.config.userPoolId}`,
      audience: 'some-other-client',
    });
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'not-a-token' },
      { authorization: tokens.AccessToken }, // an access token is not what the authorizer takes
      { authorization: expired },
      { authorization: otherClient },
      { 'x-local-machine-key': 'guessed' },
      { 'x-local-machine-key': `${signIn.machineKey}x` },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${base}/v1/anomaly/report`, { headers });
      expect(res.status, JSON.stringify(headers).slice(0, 60)).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'Unauthorized' } });
    }
    expect((await fetch(`${base}/v1/local/summary`)).status).toBe(401);
    expect(seen.length).toBe(before);
  });

  it("passes a valid ID token's claims as API Gateway's Cognito authorizer does (strings, groups joined)", async () => {
    const operator = signIn.users[1]!;
    const tokens = await signInAs(signIn, operator.email, operator.password, operator.totpSecret);
    for (const authorization of [tokens.IdToken, `Bearer ${tokens.IdToken}`, tokens.refreshedIdToken!]) {
      const res = await fetch(`${base}/v1/anomaly/report`, { headers: { authorization, 'x-local-user': 'mallory' } });
      expect(res.status).toBe(200);
      const event = seen.at(-1)!;
      const claims = (event.requestContext as { authorizer?: { claims?: Record<string, string> } }).authorizer?.claims;
      expect(claims).toMatchObject({
        email: operator.email,
        'cognito:groups': 'operator',
        token_use: 'id',
        aud: signIn.config.clientId,
        email_verified: 'true',
      });
      expect(Object.values(claims!).every((v) => typeof v === 'string')).toBe(true);
      // A signed-in user is not a machine: x-local-user names nobody.
      expect(event.requestContext?.identity?.caller).toBeNull();
    }
    expect((await fetch(`${base}/v1/local/summary`, { headers: { authorization: tokens.IdToken } })).status).toBe(200);
  });

  it('accepts the machine key (IAM locally): no claims, the CLI user named; the CLI finds and sends it', async () => {
    const res = await fetch(`${base}/v1/anomaly/report`, {
      headers: { 'x-local-machine-key': signIn.machineKey, 'x-local-user': 'ci' },
    });
    expect(res.status).toBe(200);
    expect(seen.at(-1)!.requestContext).toMatchObject({ identity: { caller: 'local:ci' } });
    // The key is not handed on to the handlers (nor their logs).
    expect(seen.at(-1)!.headers['x-local-machine-key']).toBeUndefined();
    expect((seen.at(-1)!.requestContext as { authorizer?: unknown }).authorizer).toBeUndefined();
    const viaCli = await callOperatorApi(base, 'GET', '/v1/anomaly/report', undefined, { localDir: dir });
    expect(viaCli.status).toBe(200);
    // Another server (origin) does not get the key.
    const elsewhere = await callOperatorApi(listen(open), 'GET', '/v1/anomaly/report', undefined, { localDir: dir });
    expect(elsewhere.status).toBe(200);
    expect(seen.at(-1)!.headers['x-local-machine-key']).toBeUndefined();
  });

  it('`users add` makes a local user who signs in with the printed password and TOTP (`users code`)', async () => {
    const printed: string[] = [];
    const deps = { log: (l: string) => printed.push(l), awsCognito: () => ({ send: async () => ({}) }) } as never;
    await addUser('ops2@example.com', { role: 'operator', localDir: dir }, deps);
    const password = /password\s+(\S+)/.exec(printed.join('\n'))![1]!;
    const secret = /TOTP secret (\S+)/.exec(printed.join('\n'))![1]!;
    expect(printed.join('\n')).toContain('otpauth://totp/');
    expect(readSignInState(dir)!.totpSecrets['ops2@example.com']).toBe(secret);
    expect(localUserCode('ops2@example.com', dir)).toBe(totpCode(secret));
    const tokens = await signInAs(signIn, 'ops2@example.com', password, secret);
    const res = await fetch(`${base}/v1/anomaly/report`, { headers: { authorization: tokens.IdToken } });
    expect(res.status).toBe(200);
    expect(
      (seen.at(-1)!.requestContext as { authorizer: { claims: Record<string, string> } }).authorizer.claims,
    ).toMatchObject({ email: 'ops2@example.com', 'cognito:groups': 'operator' });

    await expect(addUser('ops2@example.com', { role: 'viewer', localDir: dir }, deps)).rejects.toThrow(
      /user ops2@example.com already exists in the local pool/,
    );
    expect(() => localUserCode('nobody@example.com', dir)).toThrow(/no TOTP secret for nobody@example.com/);
    const elsewhere = mkdtempSync(join(tmpdir(), 'ag-no-runtime-'));
    await expect(addUser('x@example.com', { role: 'viewer', localDir: elsewhere }, deps)).rejects.toThrow(
      /the local runtime is not running with sign-in/,
    );
    rmSync(elsewhere, { recursive: true, force: true });
    expect(readFileSync(join(dir, 'sign-in.json'), 'utf8')).toContain(signIn.machineKey);
  });
});
