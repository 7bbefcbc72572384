import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { pageCsp } from '../../local/api-server.js';
import { ARTIFACTS, launchChromium, pageProblems, requireChromium } from './browser.js';

const PAGE = readFileSync(join(import.meta.dirname, '../../dashboard/index.html'), 'utf8');
const SITE = 'https://dashboard.example.test';
const REGION = 'eu-west-1';
/** Where the page signs in when `config.json` names no endpoint: Cognito in the pool's region. */
const COGNITO = `https://cognito-idp.${REGION}.amazonaws.com/`;
const CLIENT_ID = 'dashboardclient123';
const EMAIL = 'new.operator@example.com';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/** An unsigned token with these claims: the page only reads them (the authorizer verifies). */
const jwt = (claims: object) =>
  ['{"alg":"none"}', JSON.stringify(claims)].map((p) => Buffer.from(p).toString('base64url')).join('.') + '.sig';

const EMPTY_REPORT = {
  anomalies: [],
  reports: [],
  cost: { forecastPerMinute: null, actualPerMinute: null, episodes: 0 },
  savings: { episodes: [], amount: null, method: 'none.', assumptions: [] },
};

/**
 * What a real first sign-in gets in AWS, where MFA is required (cognito-local cannot run it): a temporary password
 * (NEW_PASSWORD_REQUIRED), then MFA_SETUP (AssociateSoftwareToken and VerifySoftwareToken with the session), then
 * tokens. Cognito's JSON API is faked at its real address; the page is served as CloudFront serves it.
 */
describe('the dashboard page: first sign-in as in AWS (new password, then TOTP set-up)', () => {
  it('sets a new password, shows the TOTP secret and otpauth URI, verifies the code, and calls the API with the ID ' +
    'token', async () => {
    requireChromium();
    const calls: { target: string; body: Record<string, unknown> }[] = [];
    const apiAuthorization: (string | undefined)[] = [];
    const apiPaths: string[] = [];
    const idToken = jwt({
      token_use: 'id',
      email: EMAIL,
      'cognito:groups': ['operator'],
      exp: Math.floor(Date.now() / 1000) + 3600,
    });
    const cognito = async (route: Route) => {
      const req = route.request();
      if (req.method() === 'OPTIONS') return route.fulfill({ status: 200, headers: cors() });
      const target = (req.headers()['x-amz-target'] ?? '').replace('AWSCognitoIdentityProviderService.', '');
      const body = req.postDataJSON() as Record<string, unknown>;
      calls.push({ target, body });
      expect(req.headers()['content-type']).toBe('application/x-amz-json-1.1');
      const answer = (json: object, status = 200) =>
        route.fulfill({
          status,
          headers: { ...cors(), 'content-type': 'application/x-amz-json-1.1' },
          body: JSON.stringify(json),
        });
      const responses = body.ChallengeResponses as Record<string, string> | undefined;
      if (target === 'InitiateAuth')
        return answer({
          ChallengeName: 'NEW_PASSWORD_REQUIRED',
          Session: 's1',
          ChallengeParameters: { USER_ID_FOR_SRP: 'uuid-1', requiredAttributes: '[]' },
        });
      if (target === 'RespondToAuthChallenge' && body.ChallengeName === 'NEW_PASSWORD_REQUIRED')
        return answer({ ChallengeName: 'MFA_SETUP', Session: 's2', ChallengeParameters: {} });
      if (target === 'AssociateSoftwareToken') return answer({ SecretCode: SECRET, Session: 's3' });
      if (target === 'VerifySoftwareToken')
        return responses === undefined && body.UserCode === '123456'
          ? answer({ Status: 'SUCCESS', Session: 's4' })
          : answer({ __type: 'EnableSoftwareTokenMFAException', message: 'Code mismatch' }, 400);
      if (target === 'RespondToAuthChallenge' && body.ChallengeName === 'MFA_SETUP')
        return answer({
          ChallengeParameters: {},
          AuthenticationResult: { IdToken: idToken, AccessToken: 'access', RefreshToken: 'refresh', ExpiresIn: 3600 },
        });
      return answer({ __type: 'InvalidParameterException', message: `unexpected ${target}` }, 400);
    };

    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      const problems = pageProblems(page, /status of (400|403)/);
      // The site as CloudFront serves it: the page with the deployed CSP's connect-src, config.json, the API at /v1/*
      // (which has no /v1/local/summary: 403, as API Gateway answers an unknown path).
      await page.route(`${SITE}/**`, (route) => {
        const url = new URL(route.request().url());
        if (url.pathname === '/')
          return route.fulfill({
            contentType: 'text/html',
            headers: { 'content-security-policy': pageCsp(COGNITO) },
            body: PAGE,
          });
        if (url.pathname === '/config.json')
          return route.fulfill({
            json: { auth: { region: REGION, userPoolId: `${REGION}_AbC123`, clientId: CLIENT_ID } },
          });
        apiAuthorization.push(route.request().headers().authorization);
        apiPaths.push(url.pathname);
        if (url.pathname === '/v1/anomaly/report') return route.fulfill({ json: EMPTY_REPORT });
        return route.fulfill({ status: 403, json: { message: 'Missing Authentication Token' } });
      });
      await page.route(COGNITO, cognito);

      await page.goto(`${SITE}/`);
      await page.fill('[data-testid=sign-in-email]', EMAIL);
      await page.fill('[data-testid=sign-in-password]', 'TemporaryPass1!');
      await page.click('[data-testid=sign-in-submit]');
      await page.locator('[data-testid=new-password-form]').waitFor({ timeout: 10_000 });
      await page.fill('[data-testid=new-password]', 'A-new-Password-42!');
      await page.fill('[data-testid=new-password-again]', 'A-new-Password-42!');
      await page.click('[data-testid=new-password-form] button[type=submit]');
      await page.locator('[data-testid=mfa-setup-form]').waitFor({ timeout: 10_000 });
      expect(await page.locator('[data-testid=mfa-setup-secret]').textContent()).toBe(SECRET);
      expect(await page.locator('[data-testid=mfa-setup-uri]').textContent()).toBe(
        `otpauth://totp/anomaly-guard:${encodeURIComponent(EMAIL)}?secret=${SECRET}&issuer=anomaly-guard`,
      );
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-mfa-setup.png') });
      // A wrong code is refused on the same form; the right one signs in.
      await page.fill('[data-testid=mfa-setup-code]', '654321');
      await page.click('[data-testid=mfa-setup-form] button[type=submit]');
      await expect
        .poll(() => page.locator('[data-testid=sign-in-error]').textContent(), { timeout: 10_000 })
        .toMatch(/^Wrong code/);
      await page.fill('[data-testid=mfa-setup-code]', '123456');
      await page.click('[data-testid=mfa-setup-form] button[type=submit]');
      await expect
        .poll(() => page.locator('[data-testid=who]').textContent(), { timeout: 10_000 })
        .toBe(`${EMAIL} · operator`);
      await expect.poll(() => apiAuthorization.length, { timeout: 10_000 }).toBeGreaterThan(0);

      // The requests Cognito got, in order and shape.
      expect(calls.map((c) => c.target)).toEqual([
        'InitiateAuth',
        'RespondToAuthChallenge',
        'AssociateSoftwareToken',
        'VerifySoftwareToken',
        'VerifySoftwareToken',
        'RespondToAuthChallenge',
      ]);
      expect(calls[0]!.body).toEqual({
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: CLIENT_ID,
        AuthParameters: { USERNAME: EMAIL, PASSWORD: 'TemporaryPass1!' },
      });
      expect(calls[1]!.body).toEqual({
        ClientId: CLIENT_ID,
        ChallengeName: 'NEW_PASSWORD_REQUIRED',
        Session: 's1',
        ChallengeResponses: { USERNAME: 'uuid-1', NEW_PASSWORD: 'A-new-Password-42!' },
      });
      expect(calls[2]!.body).toEqual({ Session: 's2' });
      expect(calls[4]!.body).toMatchObject({ Session: 's3', UserCode: '123456' });
      expect(calls[5]!.body).toEqual({
        ClientId: CLIENT_ID,
        ChallengeName: 'MFA_SETUP',
        Session: 's4',
        ChallengeResponses: { USERNAME: 'uuid-1' },
      });
      // Every API call carries the ID token as it is (the Cognito authorizer's header).
      expect(new Set(apiAuthorization)).toEqual(new Set([idToken]));
      // The local runtime's status endpoint is asked once, not on every refresh.
      await page.locator('#refresh').click();
      await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toMatch(/^updated /);
      expect(apiPaths.filter((p) => p === '/v1/local/summary')).toHaveLength(1);
      // Nothing kept outside the page's memory.
      expect(await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')).toEqual([0, 0, '']);
      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
    }
  }, 60_000);
});

function cors(): Record<string, string> {
  return {
    'access-control-allow-origin': SITE,
    'access-control-allow-headers': 'content-type, x-amz-target, x-amz-user-agent',
    'access-control-allow-methods': 'POST',
  };
}
