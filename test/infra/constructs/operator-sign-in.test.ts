import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OperatorSignIn, type OperatorSignInProps } from '../../../lib/operator-sign-in.js';
import { acknowledged, bareStack, idOf, onlyResource } from './helpers.js';

function synth(props: OperatorSignInProps = {}) {
  const stack = bareStack();
  const signIn = new OperatorSignIn(stack, 'SignIn', props);
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const pool = json.Resources[onlyResource(template, 'AWS::Cognito::UserPool')];
  return { template, json, signIn, pool, poolProps: pool.Properties };
}

describe('OperatorSignIn (bare stack)', () => {
  it('lets nobody sign up, signs in by email (case-insensitive) and recovers by email only', () => {
    const { poolProps } = synth();
    expect(poolProps.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(true);
    expect(poolProps.UsernameAttributes).toEqual(['email']);
    expect(poolProps.UsernameConfiguration).toEqual({ CaseSensitive: false });
    expect(poolProps.AutoVerifiedAttributes).toEqual(['email']);
    expect(poolProps.AccountRecoverySetting).toEqual({ RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] });
    expect(poolProps.AdminCreateUserConfig.InviteMessageTemplate.EmailMessage).toMatch(/\{username\}.*\{####\}/);
  });

  it('requires MFA with an authenticator app (TOTP) only, no SMS', () => {
    const { poolProps } = synth();
    expect(poolProps.MfaConfiguration).toBe('ON');
    expect(poolProps.EnabledMfas).toEqual(['SOFTWARE_TOKEN_MFA']);
    expect(poolProps.SmsConfiguration).toBeUndefined();
  });

  it('requires a 14-character password with every character class; temporary passwords last 3 days', () => {
    const { poolProps } = synth();
    expect(poolProps.Policies.PasswordPolicy).toEqual({
      MinimumLength: 14,
      RequireLowercase: true,
      RequireUppercase: true,
      RequireNumbers: true,
      RequireSymbols: true,
      TemporaryPasswordValidityDays: 3,
    });
  });

  it('is retained with deletion protection by default, deletable with DESTROY', () => {
    const kept = synth();
    expect(kept.pool.DeletionPolicy).toBe('Retain');
    expect(kept.poolProps.DeletionProtection).toBe('ACTIVE');
    const gone = synth({ removalPolicy: RemovalPolicy.DESTROY });
    expect(gone.pool.DeletionPolicy).toBe('Delete');
    expect(gone.poolProps.DeletionProtection).toBe('INACTIVE');
  });

  it('stays on the Essentials plan (COG8 acknowledged) unless threat protection is asked for', () => {
    const essentials = synth();
    expect(essentials.poolProps.UserPoolTier).toBe('ESSENTIALS');
    expect(essentials.poolProps.UserPoolAddOns).toBeUndefined();
    expect(acknowledged(essentials.signIn.userPool)).toEqual(['AwsSolutions-COG8']);
    const plus = synth({ threatProtection: true });
    expect(acknowledged(plus.signIn.userPool)).toEqual([]);
    expect(plus.poolProps.UserPoolTier).toBe('PLUS');
    expect(plus.poolProps.UserPoolAddOns).toEqual({ AdvancedSecurityMode: 'ENFORCED' });
  });

  it('has the groups viewer and operator, operator first by precedence', () => {
    const { template, signIn } = synth();
    const groups = Object.values(template.findResources('AWS::Cognito::UserPoolGroup')).map((g) => g.Properties);
    expect(groups.map((g) => g.GroupName).sort()).toEqual(['operator', 'viewer']);
    for (const g of groups) expect(g.UserPoolId).toEqual({ Ref: idOf(signIn.userPool) });
    const precedence = Object.fromEntries(groups.map((g) => [g.GroupName, g.Precedence]));
    expect(precedence.operator).toBeLessThan(precedence.viewer);
  });

  it('has one public app client: password and SRP sign-in, no OAuth, 1 h tokens and a 12 h refresh token', () => {
    const { json, template } = synth();
    const client = json.Resources[onlyResource(template, 'AWS::Cognito::UserPoolClient')].Properties;
    expect(client.GenerateSecret).toBe(false);
    expect(client.ExplicitAuthFlows.sort()).toEqual([
      'ALLOW_REFRESH_TOKEN_AUTH',
      'ALLOW_USER_PASSWORD_AUTH',
      'ALLOW_USER_SRP_AUTH',
    ]);
    expect(client.AllowedOAuthFlows).toBeUndefined();
    expect(client.AllowedOAuthFlowsUserPoolClient).not.toBe(true);
    expect(client.PreventUserExistenceErrors).toBe('ENABLED');
    expect(client.EnableTokenRevocation).toBe(true);
    expect([client.IdTokenValidity, client.AccessTokenValidity, client.RefreshTokenValidity]).toEqual([60, 60, 720]);
    expect(client.TokenValidityUnits).toEqual({ IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'minutes' });
  });
});
