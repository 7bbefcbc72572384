import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { writeSignInState } from '../../../local/machine-key.js';
import { addUser, parseEmail, parseRole, parseUserPoolId, registerUsersCommands } from '../../../bin/users.js';

/** A fake Cognito client: records each command's name and input, answers or throws as told. */
function fakeCognito(fail?: Record<string, string>) {
  const calls: { command: string; input: Record<string, unknown>; region: string }[] = [];
  const regions: string[] = [];
  const deps = {
    log: (l: string) => logged.push(l),
    awsCognito: (region: string) => {
      regions.push(region);
      return {
        send: async (c: { constructor: { name: string }; input: Record<string, unknown> }) => {
          calls.push({ command: c.constructor.name, input: c.input, region });
          const name = fail?.[c.constructor.name];
          if (name) throw Object.assign(new Error(`${name} from Cognito`), { name });
          return {};
        },
      };
    },
  };
  const logged: string[] = [];
  return { calls, regions, logged, deps: deps as never };
}

/** The CLI's `users` commands on their own, with errors thrown instead of exiting. */
function cli(deps: never) {
  const errors: string[] = [];
  const program = new Command().exitOverride().configureOutput({ writeErr: (s) => errors.push(s), writeOut: () => {} });
  const users = registerUsersCommands(program, deps);
  users.exitOverride();
  for (const c of users.commands) c.exitOverride().configureOutput({ writeErr: (s) => errors.push(s) });
  return { run: (...args: string[]) => program.parseAsync(['node', 'cli', 'users', ...args]), errors };
}

describe('users add / users code: argument parsing', () => {
  it('takes viewer and operator, and names the problem with anything else', () => {
    expect(parseRole('viewer')).toBe('viewer');
    expect(parseRole('operator')).toBe('operator');
    expect(() => parseRole('admin')).toThrow('unknown role "admin": use viewer (reads) or operator');
    expect(() => parseRole('Operator')).toThrow(/unknown role/);
  });

  it('takes an e-mail address as the user name, and a pool id with its region', () => {
    expect(parseEmail(' ana@example.com ')).toBe('ana@example.com');
    expect(() => parseEmail('ana')).toThrow('"ana" is not an e-mail address');
    expect(() => parseEmail('ana@example')).toThrow(/not an e-mail address/);
    expect(parseUserPoolId('eu-west-1_AbC123xyz')).toBe('eu-west-1_AbC123xyz');
    expect(() => parseUserPoolId('AbC123')).toThrow(/is not a user pool id/);
  });

  it('rejects an unknown role and a missing --role before calling anything', async () => {
    const fake = fakeCognito();
    const a = cli(fake.deps);
    await expect(a.run('add', 'ana@example.com', '--role', 'root', '--user-pool-id', 'eu-west-1_X1')).rejects.toThrow(
      /unknown role "root"/,
    );
    const b = cli(fake.deps);
    await expect(b.run('add', 'ana@example.com', '--user-pool-id', 'eu-west-1_X1')).rejects.toThrow(
      /required option '--role <role>' not specified/,
    );
    const c = cli(fake.deps);
    await expect(c.run('add', 'not-an-email', '--role', 'viewer')).rejects.toThrow(/is not an e-mail address/);
    expect(fake.calls).toEqual([]);
  });
});

describe('users add against a deployed pool', () => {
  it('creates the user, e-mail verified (Cognito mails a temporary password), then adds the group', async () => {
    const fake = fakeCognito();
    await cli(fake.deps).run('add', 'ana@example.com', '--role', 'operator', '--user-pool-id', 'eu-west-1_AbC123');
    expect(fake.regions).toEqual(['eu-west-1']);
    expect(fake.calls.map((c) => c.command)).toEqual(['AdminCreateUserCommand', 'AdminAddUserToGroupCommand']);
    expect(fake.calls[0]!.input).toEqual({
      UserPoolId: 'eu-west-1_AbC123',
      Username: 'ana@example.com',
      UserAttributes: [
        { Name: 'email', Value: 'ana@example.com' },
        { Name: 'email_verified', Value: 'true' },
      ],
      DesiredDeliveryMediums: ['EMAIL'],
    });
    // No password of ours: Cognito generates and e-mails the temporary one; no MessageAction SUPPRESS.
    expect(fake.calls[0]!.input).not.toHaveProperty('TemporaryPassword');
    expect(fake.calls[0]!.input).not.toHaveProperty('MessageAction');
    expect(fake.calls[1]!.input).toEqual({
      UserPoolId: 'eu-west-1_AbC123',
      Username: 'ana@example.com',
      GroupName: 'operator',
    });
    expect(fake.logged.join('\n')).toMatch(/created ana@example.com \(operator\) in eu-west-1_AbC123: Cognito e-mails/);
  });

  it('uses --region over the pool id, and names an existing user or a missing pool', async () => {
    const fake = fakeCognito();
    await addUser(
      'b@example.com',
      { role: 'viewer', userPoolId: 'eu-west-1_X1', region: 'us-east-2', localDir: '.' },
      fake.deps,
    );
    expect(fake.regions).toEqual(['us-east-2']);
    const exists = fakeCognito({ AdminCreateUserCommand: 'UsernameExistsException' });
    await expect(
      addUser('b@example.com', { role: 'viewer', userPoolId: 'eu-west-1_X1', localDir: '.' }, exists.deps),
    ).rejects.toThrow('user b@example.com already exists in eu-west-1_X1');
    expect(exists.calls.map((c) => c.command)).toEqual(['AdminCreateUserCommand']);
    const missing = fakeCognito({ AdminCreateUserCommand: 'ResourceNotFoundException' });
    await expect(
      addUser('b@example.com', { role: 'viewer', userPoolId: 'eu-west-1_X1', localDir: '.' }, missing.deps),
    ).rejects.toThrow('no user pool eu-west-1_X1 in eu-west-1');
  });
});

describe('users add / code locally without a running runtime', () => {
  it('says the runtime is not running (and how to start it) instead of failing obscurely', async () => {
    const fake = fakeCognito();
    await expect(
      cli(fake.deps).run('add', 'c@example.com', '--role', 'viewer', '--local-dir', '/nonexistent/ag'),
    ).rejects.toThrow(/the local runtime is not running with sign-in \(no \/nonexistent\/ag\/sign-in.json\): start it/);
    await expect(cli(fake.deps).run('code', 'c@example.com', '--local-dir', '/nonexistent/ag')).rejects.toThrow(
      /the local runtime is not running with sign-in/,
    );
    expect(fake.calls).toEqual([]);
  });

  it('says so when the runtime that wrote sign-in.json is gone (its stand-in does not answer)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ag-stale-'));
    try {
      writeSignInState(dir, {
        endpoint: 'http://127.0.0.1:9',
        region: 'us-east-1',
        userPoolId: 'local_dead',
        clientId: 'c',
        adminClientId: 'a',
        machineKey: 'k',
        totpSecrets: {},
      });
      await expect(addUser('d@example.com', { role: 'viewer', localDir: dir }, fakeCognito().deps)).rejects.toThrow(
        /the local runtime is not running: its sign-in stand-in at http:\/\/127.0.0.1:9 does not answer/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
