import { resolve } from 'node:path';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  CognitoIdentityProviderClient,
} from '@aws-sdk/client-cognito-identity-provider';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_LOCAL_DIR, readSignInState, writeSignInState } from '../local/machine-key.js';
import {
  createLocalUser,
  localCognitoClient,
  newDashboardUser,
  ROLES,
  type Role,
  totpCode,
  totpUri,
} from '../local/sign-in.js';

export { ROLES, type Role };

/** What `users add` needs to reach a pool. */
export interface UsersAddOptions {
  role: Role;
  /** A deployed pool (stack output); without it, the local runtime's. */
  userPoolId?: string;
  region?: string;
  /** The local runtime's data directory (its `--out`). */
  localDir: string;
}

export interface UsersDeps {
  log: (line: string) => void;
  /** The Cognito client for AWS, in `region`. */
  awsCognito: (region: string) => Pick<CognitoIdentityProviderClient, 'send'>;
}

const defaultDeps: UsersDeps = {
  log: (l) => console.log(l),
  awsCognito: (region) => new CognitoIdentityProviderClient({ region, requestHandler: new NodeHttpHandler() }),
};

export function parseRole(value: string): Role {
  if ((ROLES as readonly string[]).includes(value)) return value as Role;
  throw new InvalidArgumentError(`unknown role "${value}": use viewer (reads) or operator (also mitigates, approves)`);
}

export function parseEmail(value: string): string {
  const email = value.trim();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254)
    throw new InvalidArgumentError(`"${value}" is not an e-mail address (users sign in with their e-mail)`);
  return email;
}

/** A user pool id is `<region>_<id>`: its region, unless `--region` says otherwise. */
export function parseUserPoolId(value: string): string {
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d_[0-9A-Za-z]+$/.test(value))
    throw new InvalidArgumentError(
      `"${value}" is not a user pool id (<region>_<id>, stack output DashboardUserPoolId)`,
    );
  return value;
}

function errorName(e: unknown): string {
  return (e as { name?: string; __type?: string }).name ?? '';
}

/**
 * In AWS: AdminCreateUser (the e-mail as user name, verified; Cognito e-mails a temporary password) and
 * AdminAddUserToGroup. Locally: a user of the running runtime's pool with a generated permanent password and TOTP
 * enrolled, printed once.
 */
export async function addUser(email: string, o: UsersAddOptions, deps: UsersDeps = defaultDeps): Promise<void> {
  if (o.userPoolId) return addAwsUser(email, { ...o, userPoolId: o.userPoolId }, deps);
  const state = readSignInState(o.localDir);
  if (!state)
    throw new Error(
      `the local runtime is not running with sign-in (no ${resolve(o.localDir, 'sign-in.json')}): start it with ` +
        '`npm start` (not --no-auth), or give --user-pool-id to add the user to a deployed pool',
    );
  const cognito = localCognitoClient(state.endpoint);
  try {
    const user = await createLocalUser(cognito, state, email, o.role).catch((e: unknown) => {
      if (errorName(e) === 'UsernameExistsException')
        throw new Error(`user ${email} already exists in the local pool ${state.userPoolId}`);
      if (/ECONNREFUSED|fetch failed|socket hang up/.test(`${(e as Error).message} ${(e as Error).cause ?? ''}`))
        throw new Error(
          `the local runtime is not running: its sign-in stand-in at ${state.endpoint} does not answer (stale ` +
            `${resolve(o.localDir, 'sign-in.json')}); start it with \`npm start\``,
        );
      throw e;
    });
    const now = readSignInState(o.localDir) ?? state;
    writeSignInState(o.localDir, { ...now, totpSecrets: { ...now.totpSecrets, [email]: user.totpSecret } });
    deps.log(`created ${email} (${o.role}) in the local pool ${state.userPoolId}`);
    deps.log(`  password    ${user.password}`);
    deps.log(`  TOTP secret ${user.totpSecret}  (${totpUri(email, user.totpSecret)})`);
    deps.log(`  current code: npm run cli -- users code ${email}`);
  } finally {
    cognito.destroy();
  }
}

async function addAwsUser(email: string, o: UsersAddOptions & { userPoolId: string }, deps: UsersDeps): Promise<void> {
  const region = o.region ?? o.userPoolId.split('_')[0]!;
  const cognito = deps.awsCognito(region);
  const UserPoolId = o.userPoolId;
  try {
    await cognito.send(
      new AdminCreateUserCommand({
        ...newDashboardUser(UserPoolId, email),
        DesiredDeliveryMediums: ['EMAIL'],
      }),
    );
  } catch (e) {
    const name = errorName(e);
    if (name === 'UsernameExistsException')
      throw new Error(
        `user ${email} already exists in ${UserPoolId}; to change the role: aws cognito-idp admin-add-user-to-group`,
      );
    if (name === 'ResourceNotFoundException')
      throw new Error(`no user pool ${UserPoolId} in ${region} (stack output DashboardUserPoolId; --region?)`);
    throw e;
  }
  await cognito.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: email, GroupName: o.role }));
  deps.log(
    `created ${email} (${o.role}) in ${UserPoolId}: Cognito e-mails a temporary password; at the first sign-in ` +
      'they choose a new one and enrol an authenticator app (MFA is required)',
  );
}

/** The current TOTP code of a user the local runtime (or `users add`) created: a convenience for the demo. */
export function localUserCode(email: string, localDir: string): string {
  const state = readSignInState(localDir);
  if (!state)
    throw new Error(
      `the local runtime is not running with sign-in (no ${resolve(localDir, 'sign-in.json')}): start it with ` +
        '`npm start`',
    );
  const secret = state.totpSecrets[email];
  if (!secret)
    throw new Error(
      `no TOTP secret for ${email} in the local pool (known: ${Object.keys(state.totpSecrets).join(', ') || 'none'})`,
    );
  return totpCode(secret);
}

/** `users add` and `users code`. */
export function registerUsersCommands(program: Command, deps: UsersDeps = defaultDeps): Command {
  const users = program.command('users').description('dashboard users: Cognito user pool (AWS) or the local stand-in');
  const localDirOption = [
    '--local-dir <dir>',
    "the local runtime's data directory (its --out), where it keeps sign-in.json while it runs",
    process.env.ANOMALY_GUARD_LOCAL_DIR ?? DEFAULT_LOCAL_DIR,
  ] as const;
  users
    .command('add')
    .description(
      'create a dashboard user in a role: in AWS (--user-pool-id) with an e-mailed temporary password; locally, in ' +
        "the running runtime's pool, with a password and TOTP secret printed",
    )
    .argument('<email>', 'the user signs in with this e-mail', parseEmail)
    .requiredOption('--role <role>', 'viewer (reads) or operator (also mitigates, rolls back, approves)', parseRole)
    .option('--user-pool-id <id>', 'the deployed pool (stack output DashboardUserPoolId)', parseUserPoolId)
    .option('--region <region>', "the pool's region (default: from the pool id)")
    .option(...localDirOption)
    .action(async (email: string, o: { role: Role; userPoolId?: string; region?: string; localDir: string }) => {
      await addUser(email, o, deps);
    });
  users
    .command('code')
    .description("print the current TOTP code of a local user (the local runtime's demo convenience)")
    .argument('<email>', 'a user the local runtime seeded or `users add` created', parseEmail)
    .option(...localDirOption)
    .action(async (email: string, o: { localDir: string }) => {
      deps.log(localUserCode(email, o.localDir));
    });
  return users;
}
