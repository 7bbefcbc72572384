import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminInitiateAuthCommand,
  AdminSetUserPasswordCommand,
  AssociateSoftwareTokenCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  VerifySoftwareTokenCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { JwtVerifier } from 'aws-jwt-verify';
import { generateSync, generateURI } from 'otplib';
import { readSignInState, SIGN_IN_STATE_FILE, writeSignInState, type LocalSignInState } from './machine-key.js';
import { LOCAL_REGION, resourcesOfType, type CfnTemplate } from './stand-ins.js';

export { MACHINE_KEY_HEADER, readSignInState, type LocalSignInState } from './machine-key.js';

/** The dashboard's roles: Cognito groups of the same names. */
export const ROLES = ['viewer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** What the page reads from `GET /config.json` to sign in (in AWS: the deployed pool, without `endpoint`). */
export interface SignInConfig {
  region: string;
  userPoolId: string;
  clientId: string;
  /** The Cognito JSON API; default `https://cognito-idp.<region>.amazonaws.com/`. */
  endpoint: string;
}

/** A user of the local pool, with what signing in needs. */
export interface LocalUser {
  email: string;
  role: Role;
  password: string;
  /** Base32 TOTP secret (what an authenticator app stores). */
  totpSecret: string;
}

/** The deployed pool's password policy, kept locally too. */
export const PASSWORD_POLICY = {
  MinimumLength: 14,
  RequireUppercase: true,
  RequireLowercase: true,
  RequireNumbers: true,
  RequireSymbols: true,
  TemporaryPasswordValidityDays: 3,
};
const TOTP_ISSUER = 'anomaly-guard';
export const DEMO_USERS: readonly { email: string; role: Role }[] = [
  { email: 'viewer@example.com', role: 'viewer' },
  { email: 'operator@example.com', role: 'operator' },
];

export interface LocalSignIn {
  /** `/config.json`'s `auth`. */
  readonly config: SignInConfig;
  /** The seeded demo users. */
  readonly users: readonly LocalUser[];
  readonly machineKey: string;
  /**
   * The Cognito authorizer of API Gateway: the claims of a valid ID token of this pool and client (`Authorization`,
   * raw or `Bearer `), as strings the way API Gateway passes them; undefined when missing, invalid or expired.
   */
  verify(authorization: string | undefined): Promise<Record<string, string> | undefined>;
  /** Records where the operator API serves (for the CLI's machine key). */
  serving(api: string): void;
  close(): Promise<void>;
}

/** A password the deployed policy accepts: 21 characters with upper- and lowercase letters, digits and symbols. */
export function generatePassword(): string {
  const pick = (chars: string) => chars[randomInt(chars.length)]!;
  const body = randomBytes(12).toString('base64url').replace(/[-_]/g, 'x');
  const symbols = '!#%+=?@^';
  const classes = [pick('ABCDEFGHJKLMNPQRSTUVWXYZ'), pick('abcdefghijkmnpqrstuvwxyz'), pick('23456789'), pick(symbols)];
  return `${classes.join('')}${body}${pick(symbols)}`;
}

/** The current TOTP code of a secret (SHA-1, 6 digits, 30 s: what Cognito and authenticator apps use). */
export function totpCode(secret: string): string {
  return generateSync({ secret });
}

/** The otpauth:// URI an authenticator app scans. */
export function totpUri(email: string, secret: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label: email, secret });
}

/** A Cognito client for the local stand-in (it ignores credentials; the SDK wants some). */
export function localCognitoClient(endpoint: string): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler(),
  });
}

/** A dashboard user as an administrator creates one, in AWS or locally: signed in by e-mail, the address verified. */
export function newDashboardUser(UserPoolId: string, email: string) {
  return {
    UserPoolId,
    Username: email,
    UserAttributes: [
      { Name: 'email', Value: email },
      { Name: 'email_verified', Value: 'true' },
    ],
  };
}

/**
 * Create a user of the local pool the way an administrator would, with a permanent password, in `role`'s group, and
 * enrol its TOTP (the stand-in cannot run the MFA_SETUP challenge a first sign-in gets in AWS, so it is done here with
 * an access token from the admin flow).
 */
export async function createLocalUser(
  cognito: CognitoIdentityProviderClient,
  state: Pick<LocalSignInState, 'userPoolId' | 'adminClientId'>,
  email: string,
  role: Role,
): Promise<LocalUser> {
  const password = generatePassword();
  const UserPoolId = state.userPoolId;
  await cognito.send(
    new AdminCreateUserCommand({
      ...newDashboardUser(UserPoolId, email),
      TemporaryPassword: generatePassword(),
      MessageAction: 'SUPPRESS',
    }),
  );
  await cognito.send(
    new AdminSetUserPasswordCommand({ UserPoolId, Username: email, Password: password, Permanent: true }),
  );
  await cognito.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: email, GroupName: role }));
  const auth = await cognito.send(
    new AdminInitiateAuthCommand({
      UserPoolId,
      ClientId: state.adminClientId,
      AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: email, PASSWORD: password },
    }),
  );
  const AccessToken = auth.AuthenticationResult?.AccessToken;
  if (!AccessToken) throw new Error(`the local pool issued no access token to enrol ${email}'s TOTP`);
  const { SecretCode } = await cognito.send(new AssociateSoftwareTokenCommand({ AccessToken }));
  if (!SecretCode) throw new Error(`the local pool gave no TOTP secret for ${email}`);
  const verified = await cognito.send(
    new VerifySoftwareTokenCommand({ AccessToken, UserCode: totpCode(SecretCode), FriendlyDeviceName: 'local demo' }),
  );
  if (verified.Status !== 'SUCCESS') throw new Error(`the local pool did not accept ${email}'s TOTP code`);
  return { email, role, password, totpSecret: SecretCode };
}

// cognito-local's modules, required by path: it has no programmatic entry that takes a data directory and a port.
type CognitoLocalServer = { start(): Promise<Server> };
interface CognitoLocalModules {
  createServer(router: unknown, logger: unknown, options: object, services: unknown): CognitoLocalServer;
  Router(services: unknown): unknown;
}

/**
 * Start cognito-local in this process on a free port, with its data under `<dir>/cognito`, and set up a user pool like
 * the deployed one (MFA required with software tokens, the password policy, groups `viewer` and `operator`, a client
 * with USER_PASSWORD_AUTH and refresh; from the synthesized `template` when it has the pool), then seed the demo users
 * with TOTP enrolled.
 */
export async function startLocalSignIn(dir: string, template?: CfnTemplate): Promise<LocalSignIn> {
  const dataDir = join(dir, 'cognito');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const req = createRequire(createRequire(import.meta.url).resolve('cognito-local/package.json'));
  const m = {
    ...(req('cognito-local/lib/server/server.js') as Pick<CognitoLocalModules, 'createServer'>),
    ...(req('cognito-local/lib/server/Router.js') as Pick<CognitoLocalModules, 'Router'>),
  };
  const { DateClock, MessagesService } = req('cognito-local/lib/services/index.js');
  const { CognitoServiceFactoryImpl } = req('cognito-local/lib/services/cognitoService.js');
  const { UserPoolServiceFactoryImpl } = req('cognito-local/lib/services/userPoolService.js');
  const { StormDBDataStoreFactory } = req('cognito-local/lib/services/dataStore/stormDb.js');
  const { MessageDeliveryService } = req('cognito-local/lib/services/messageDelivery/messageDelivery.js');
  const { ConsoleMessageSender } = req('cognito-local/lib/services/messageDelivery/consoleMessageSender.js');
  const { JwtTokenGenerator } = req('cognito-local/lib/services/tokenGenerator.js');
  const { otp } = req('cognito-local/lib/services/otp.js');
  const { DefaultConfig } = req('cognito-local/lib/server/config.js');
  const pino = req('pino') as (o: object) => unknown;

  const logger = pino({ level: 'silent' });
  const ctx = { logger };
  const clock = new DateClock();
  const stores = new StormDBDataStoreFactory(dataDir);
  const cognitoService = await new CognitoServiceFactoryImpl(
    dataDir,
    stores,
    new UserPoolServiceFactoryImpl(clock, stores),
  ).create(ctx, { UsernameAttributes: ['email'] });
  // No Lambda triggers locally.
  const triggers = { enabled: () => false };
  // Tokens are issued with the issuer `<IssuerDomain>/<poolId>`: the domain is set once the port is known.
  const tokenConfig = { IssuerDomain: 'http://127.0.0.1' };
  const serverConfig = { port: 0, hostname: '127.0.0.1', development: false, https: false };
  const services = {
    clock,
    cognito: cognitoService,
    config: { ...DefaultConfig, TokenConfig: tokenConfig, ServerConfig: serverConfig },
    messages: new MessagesService(triggers, new MessageDeliveryService(new ConsoleMessageSender())),
    otp,
    tokenGenerator: refreshable(new JwtTokenGenerator(clock, triggers, tokenConfig), cognitoService),
    triggers,
  };
  const server = await m.createServer(m.Router(services), logger, serverConfig, services).start();
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenConfig.IssuerDomain = endpoint;
  const cognito = localCognitoClient(endpoint);
  try {
    const settings = poolSettings(template);
    const pool = await cognito.send(
      new CreateUserPoolCommand({ PoolName: 'anomaly-guard-dashboard', ...settings.pool }),
    );
    const userPoolId = pool.UserPool!.Id!;
    const client = await cognito.send(
      new CreateUserPoolClientCommand({ UserPoolId: userPoolId, ClientName: 'dashboard', ...settings.client }),
    );
    const admin = await cognito.send(
      new CreateUserPoolClientCommand({
        UserPoolId: userPoolId,
        ClientName: 'local-admin',
        ExplicitAuthFlows: ['ALLOW_ADMIN_USER_PASSWORD_AUTH'],
      }),
    );
    for (const group of settings.groups)
      await cognito.send(new CreateGroupCommand({ UserPoolId: userPoolId, ...group }));
    const state: LocalSignInState = {
      endpoint,
      region: LOCAL_REGION,
      userPoolId,
      clientId: client.UserPoolClient!.ClientId!,
      adminClientId: admin.UserPoolClient!.ClientId!,
      machineKey: randomBytes(24).toString('base64url'),
      totpSecrets: {},
    };
    const users: LocalUser[] = [];
    for (const u of DEMO_USERS) {
      const user = await createLocalUser(cognito, state, u.email, u.role);
      users.push(user);
      state.totpSecrets[u.email] = user.totpSecret;
    }
    writeSignInState(dir, state);

    const issuer = `${endpoint}/${userPoolId}`;
    const jwksUri = `${issuer}/.well-known/jwks.json`;
    const verifier = JwtVerifier.create({
      issuer,
      audience: state.clientId,
      jwksUri,
      customJwtCheck: ({ payload }) => {
        if (payload.token_use !== 'id') throw new Error('not an ID token');
      },
    });
    // The JWKS is served over plain HTTP here, which the verifier does not fetch: it is cached up front.
    const jwks = (await (await fetch(jwksUri)).json()) as Parameters<typeof verifier.cacheJwks>[0];
    verifier.cacheJwks(jwks);

    return {
      config: { region: state.region, userPoolId, clientId: state.clientId, endpoint: `${endpoint}/` },
      users,
      machineKey: state.machineKey,
      async verify(authorization) {
        const token = authorization?.replace(/^Bearer\s+/i, '').trim();
        if (!token) return undefined;
        try {
          return authorizerClaims(await verifier.verify(token));
        } catch {
          return undefined;
        }
      },
      serving(api) {
        const current = readSignInState(dir) ?? state;
        writeSignInState(dir, { ...current, api });
      },
      async close() {
        cognito.destroy();
        rmSync(join(dir, SIGN_IN_STATE_FILE), { force: true });
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  } catch (e) {
    cognito.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    throw e;
  }
}

type TokenGenerate = (
  ctx: unknown,
  user: { Username: string },
  groups: unknown,
  client: { ClientId: string },
  ...rest: unknown[]
) => Promise<{ RefreshToken?: string }>;
interface LocalPool {
  getUserByUsername(ctx: unknown, username: string): Promise<{ Username: string } | null>;
  storeRefreshToken(ctx: unknown, token: string, user: { Username: string }): Promise<void>;
}

/**
 * cognito-local keeps a refresh token only when the password alone signs in; after an MFA challenge it forgets it, so
 * REFRESH_TOKEN_AUTH would fail. Every sign-in's refresh token is kept here, as Cognito does.
 */
function refreshable<G extends { generate: TokenGenerate }>(
  generator: G,
  cognito: { getUserPoolForClientId(ctx: unknown, clientId: string): Promise<LocalPool> },
): G {
  const generate = generator.generate.bind(generator);
  generator.generate = async (ctx, user, groups, client, ...rest) => {
    const tokens = await generate(ctx, user, groups, client, ...rest);
    if (rest[1] === 'Authentication' && tokens.RefreshToken) {
      const pool = await cognito.getUserPoolForClientId(ctx, client.ClientId);
      const fresh = await pool.getUserByUsername(ctx, user.Username);
      if (fresh) await pool.storeRefreshToken(ctx, tokens.RefreshToken, fresh);
    }
    return tokens;
  };
  return generator;
}

type PoolInput = Omit<ConstructorParameters<typeof CreateUserPoolCommand>[0], 'PoolName'>;
type ClientInput = Omit<ConstructorParameters<typeof CreateUserPoolClientCommand>[0], 'UserPoolId' | 'ClientName'>;

/** The settings of the deployed pool when the template has exactly one; without one, the same by default. */
export function poolSettings(template?: CfnTemplate): {
  pool: PoolInput;
  client: ClientInput;
  groups: { GroupName: string; Description?: string }[];
} {
  const one = (type: string) => {
    const found = template ? resourcesOfType(template, type) : [];
    return found.length === 1 ? (found[0]![1].Properties ?? {}) : undefined;
  };
  const p = one('AWS::Cognito::UserPool');
  const c = one('AWS::Cognito::UserPoolClient');
  const pool: PoolInput = {
    UsernameAttributes: p?.UsernameAttributes ?? ['email'],
    AutoVerifiedAttributes: p?.AutoVerifiedAttributes ?? ['email'],
    MfaConfiguration: p?.MfaConfiguration ?? 'ON',
    Policies: { PasswordPolicy: p?.Policies?.PasswordPolicy ?? PASSWORD_POLICY },
    AdminCreateUserConfig: { AllowAdminCreateUserOnly: p?.AdminCreateUserConfig?.AllowAdminCreateUserOnly ?? true },
  };
  const client: ClientInput = {
    ExplicitAuthFlows: c?.ExplicitAuthFlows ?? ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    IdTokenValidity: c?.IdTokenValidity ?? 60,
    AccessTokenValidity: c?.AccessTokenValidity ?? 60,
    RefreshTokenValidity: c?.RefreshTokenValidity ?? 720,
    TokenValidityUnits: c?.TokenValidityUnits ?? {
      IdToken: 'minutes',
      AccessToken: 'minutes',
      RefreshToken: 'minutes',
    },
    PreventUserExistenceErrors: c?.PreventUserExistenceErrors ?? 'ENABLED',
  };
  const declared = (template ? resourcesOfType(template, 'AWS::Cognito::UserPoolGroup') : [])
    .map(([, g]) => g.Properties ?? {})
    .filter((g) => typeof g.GroupName === 'string')
    .map((g) => ({
      GroupName: g.GroupName as string,
      ...(typeof g.Description === 'string' && { Description: g.Description }),
    }));
  const groups = [
    ...declared,
    ...ROLES.filter((r) => !declared.some((g) => g.GroupName === r)).map((r) => ({ GroupName: r })),
  ];
  return { pool, client, groups };
}

/** Claims as API Gateway's Cognito authorizer passes them: every value a string, lists joined with ",". */
export function authorizerClaims(payload: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v)]),
  );
}
