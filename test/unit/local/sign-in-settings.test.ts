import { describe, expect, it } from 'vitest';
import { authorizerClaims, generatePassword, PASSWORD_POLICY, poolSettings } from '../../../local/sign-in.js';
import type { CfnTemplate } from '../../../local/stand-ins.js';

describe('the local sign-in pool', () => {
  it("takes the deployed pool's settings from the synthesized template", () => {
    const template: CfnTemplate = {
      Resources: {
        Pool: {
          Type: 'AWS::Cognito::UserPool',
          Properties: {
            UsernameAttributes: ['email'],
            MfaConfiguration: 'ON',
            EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
            Policies: { PasswordPolicy: { ...PASSWORD_POLICY, MinimumLength: 16 } },
            AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
          },
        },
        Client: {
          Type: 'AWS::Cognito::UserPoolClient',
          Properties: {
            UserPoolId: { Ref: 'Pool' },
            ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
            IdTokenValidity: 30,
            AccessTokenValidity: 30,
            RefreshTokenValidity: 600,
            TokenValidityUnits: { IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'minutes' },
          },
        },
        Viewers: { Type: 'AWS::Cognito::UserPoolGroup', Properties: { GroupName: 'viewer', Description: 'reads' } },
        Operators: { Type: 'AWS::Cognito::UserPoolGroup', Properties: { GroupName: 'operator' } },
      },
    };
    const s = poolSettings(template);
    expect(s.pool).toMatchObject({
      MfaConfiguration: 'ON',
      Policies: { PasswordPolicy: { MinimumLength: 16, RequireSymbols: true } },
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    expect(s.client).toMatchObject({ IdTokenValidity: 30, RefreshTokenValidity: 600 });
    expect(s.client.ExplicitAuthFlows).toContain('ALLOW_USER_PASSWORD_AUTH');
    expect(s.groups).toEqual([{ GroupName: 'viewer', Description: 'reads' }, { GroupName: 'operator' }]);
  });

  it('without a pool in the template: MFA on, 14 characters with symbols, 1 h tokens, both groups', () => {
    const s = poolSettings({ Resources: {} });
    expect(s.pool).toMatchObject({ MfaConfiguration: 'ON', Policies: { PasswordPolicy: PASSWORD_POLICY } });
    expect(PASSWORD_POLICY).toMatchObject({ MinimumLength: 14, RequireSymbols: true, RequireNumbers: true });
    expect(s.client).toMatchObject({
      IdTokenValidity: 60,
      ExplicitAuthFlows: expect.arrayContaining(['ALLOW_USER_PASSWORD_AUTH']),
    });
    expect(s.groups.map((g) => g.GroupName)).toEqual(['viewer', 'operator']);
  });

  it('generates passwords the policy accepts', () => {
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p.length).toBeGreaterThanOrEqual(14);
      for (const re of [/[A-Z]/, /[a-z]/, /\d/, /[^A-Za-z0-9]/]) expect(p).toMatch(re);
    }
  });

  it("passes claims as API Gateway's Cognito authorizer: strings, lists joined with commas", () => {
    expect(
      authorizerClaims({
        email: 'a@example.com',
        'cognito:groups': ['viewer', 'operator'],
        email_verified: true,
        exp: 1796632672,
        nothing: null,
      }),
    ).toEqual({
      email: 'a@example.com',
      'cognito:groups': 'viewer,operator',
      email_verified: 'true',
      exp: '1796632672',
    });
  });
});
