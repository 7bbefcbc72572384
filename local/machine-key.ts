import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the local runtime leaves in its data directory while it serves with sign-in, for the CLI: the local pool
 * (`users add|code`) and the machine key (IAM's stand-in).
 */
export interface LocalSignInState {
  endpoint: string;
  region: string;
  userPoolId: string;
  clientId: string;
  /** A client with the admin password flow, used only to enrol TOTP of users the runtime or the CLI create. */
  adminClientId: string;
  /** Stands in for IAM locally: a request without a token is accepted only with this key (`x-local-machine-key`). */
  machineKey: string;
  /** The operator API the key is for, once it serves. */
  api?: string;
  /** TOTP secrets of the users created locally, by email: `users code <email>`. */
  totpSecrets: Record<string, string>;
}

/** The header that carries the machine key. */
export const MACHINE_KEY_HEADER = 'x-local-machine-key';
export const SIGN_IN_STATE_FILE = 'sign-in.json';
/** Where `npm start` keeps its data (the `local --out` default). */
export const DEFAULT_LOCAL_DIR = '.anomaly-guard/local';

export function readSignInState(dir: string): LocalSignInState | undefined {
  const file = join(dir, SIGN_IN_STATE_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LocalSignInState;
}

/** Only the user can read it: it holds the machine key and TOTP secrets. */
export function writeSignInState(dir: string, state: LocalSignInState): void {
  const file = join(dir, SIGN_IN_STATE_FILE);
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}
