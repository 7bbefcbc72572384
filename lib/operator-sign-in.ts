import { type CfnResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { ROLES, type Role } from '../lambdas/handlers/api/http.js';

/** What each dashboard group may do (lambdas/handlers/api/http.ts enforces it in the API handlers). */
export const ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  viewer: 'anomaly-guard dashboard: read reports and timelines, score, dry-run mitigations',
  operator:
    'anomaly-guard dashboard: everything a viewer may, and mitigate, roll back, approve, whitelist, declare changes, ' +
    'give feedback',
};

/** Token lifetimes of the dashboard's app client. */
export const SIGN_IN_TOKEN_VALIDITY = { idHours: 1, accessHours: 1, refreshHours: 12 } as const;

/**
 * Props of {@link OperatorSignIn}.
 * @example
 * const signIn = new OperatorSignIn(this, 'SignIn', { removalPolicy: RemovalPolicy.RETAIN });
 * new CfnOutput(this, 'UserPoolId', { value: signIn.userPool.userPoolId });
 */
export interface OperatorSignInProps {
  /**
   * RETAIN also turns on the user pool's deletion protection: the users, their MFA devices and group memberships are
   * not recreated by a redeploy.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Cognito threat protection in full-function mode (needs the Plus feature plan, billed per monthly active user).
   * @default false (Essentials plan)
   */
  readonly threatProtection?: boolean;
}

/**
 * Sign-in for the operator dashboard: a Cognito user pool nobody can sign up to (administrators create users, e.g.
 * `npm run cli -- users add <email> --role viewer|operator`), signed in by email, MFA required with an authenticator
 * app (TOTP; no SMS), a 14-character password with every character class, recovery by email only; the groups
 * `viewer` and `operator` (the API's roles); and a public app client (no secret) for the page's password or SRP
 * sign-in, with 1-hour ID and access tokens and 12-hour refresh tokens.
 */
export class OperatorSignIn extends Construct {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  /** One group per role, named exactly `viewer` and `operator`. */
  readonly groups: Readonly<Record<Role, cognito.CfnUserPoolGroup>>;

  constructor(scope: Construct, id: string, props: OperatorSignInProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const threatProtection = props.threatProtection ?? false;

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      userInvitation: {
        emailSubject: 'Your anomaly-guard dashboard account',
        emailBody:
          // The address is the stack output DashboardUrl: naming it here would make the pool depend on the
          // distribution, which depends on the API whose authorizer depends on the pool.
          'Sign in to the anomaly-guard dashboard (the address is the stack output DashboardUrl) as {username} with ' +
          'the temporary password {####} within 3 days. You will choose a new password and set up an authenticator ' +
          'app (TOTP).',
      },
      featurePlan: threatProtection ? cognito.FeaturePlan.PLUS : cognito.FeaturePlan.ESSENTIALS,
      ...(threatProtection && { standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION }),
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    if (!threatProtection)
      Validations.of(this.userPool.node.defaultChild as CfnResource).acknowledge({
        id: 'AwsSolutions-COG8',
        reason:
          'Threat protection needs the Plus feature plan (billed per monthly active user) and is a config switch ' +
          '(dashboard.threatProtection); without it sign-in still needs a 14-character password and a TOTP code, ' +
          'and nobody can sign up.',
      });

    this.client = this.userPool.addClient('DashboardClient', {
      generateSecret: false,
      // The page signs in with InitiateAuth (password or SRP, then the TOTP challenge): no hosted UI, no OAuth flows.
      authFlows: { userPassword: true, userSrp: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(SIGN_IN_TOKEN_VALIDITY.idHours),
      accessTokenValidity: Duration.hours(SIGN_IN_TOKEN_VALIDITY.accessHours),
      refreshTokenValidity: Duration.hours(SIGN_IN_TOKEN_VALIDITY.refreshHours),
    });

    const groups = {} as Record<Role, cognito.CfnUserPoolGroup>;
    ROLES.forEach((role, i) => {
      groups[role] = new cognito.CfnUserPoolGroup(this, `${role.charAt(0).toUpperCase()}${role.slice(1)}Group`, {
        userPoolId: this.userPool.userPoolId,
        groupName: role,
        description: ROLE_DESCRIPTIONS[role],
        // Lower wins: an operator's token names operator first.
        precedence: ROLES.length - i,
      });
    });
    this.groups = groups;
  }
}
