import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { DEFAULT_LOCAL_DIR, MACHINE_KEY_HEADER, readSignInState } from '../local/machine-key.js';

/** SHA-256 for the SigV4 signer, from node:crypto (HMAC when given a secret). */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The region of an API Gateway URL (`https://<id>.execute-api.<region>.amazonaws.com/...`), if it is one. */
export function apiGatewayRegion(url: URL): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
}

/** The local runtime's data directory (its `--out`): where it keeps the machine key while it serves with sign-in. */
export function localDir(): string {
  return process.env.ANOMALY_GUARD_LOCAL_DIR ?? DEFAULT_LOCAL_DIR;
}

/** The local runtime's machine key, when it serves `url` with sign-in on (IAM's stand-in for the CLI). */
export function localMachineKey(url: URL, dir = localDir()): string | undefined {
  const state = readSignInState(dir);
  return state?.api && new URL(state.api).origin === url.origin ? state.machineKey : undefined;
}

/** What to do about a 401. */
export function unauthorizedHint(api: string): string {
  return apiGatewayRegion(new URL(api))
    ? 'the deployed API refused the signature: check your AWS credentials and region'
    : `the local runtime has sign-in on and the CLI found no machine key for ${api} in ` +
        `${localDir()}/sign-in.json: run the CLI from the project directory, or set ANOMALY_GUARD_LOCAL_DIR to the ` +
        "runtime's --out";
}

/**
 * Call the operator API as the CLI user: a deployed API (IAM authorization) with a SigV4 signature from the default
 * credential chain; the local runtime's with the user's name (`x-local-user`), which it records as the caller, and,
 * when it serves with sign-in, its machine key (`x-local-machine-key`, the local stand-in for IAM).
 */
export async function callOperatorApi(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  opts: { localDir?: string } = {},
): Promise<{ status: number; body: unknown }> {
  const url = new URL(path.replace(/^\//, ''), base.endsWith('/') ? base : `${base}/`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let headers: Record<string, string> = { 'content-type': 'application/json', host: url.host };
  const region = apiGatewayRegion(url);
  if (region) {
    const signer = new SignatureV4({ service: 'execute-api', region, credentials: defaultProvider(), sha256: Sha256 });
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      ...(payload !== undefined && { body: payload }),
    });
    headers = signed.headers;
  } else {
    headers['x-local-user'] = process.env.USER ?? 'cli';
    const key = localMachineKey(url, opts.localDir);
    if (key) headers[MACHINE_KEY_HEADER] = key;
  }
  const { host: _host, ...sent } = headers;
  const res = await fetch(url, { method, headers: sent, ...(payload !== undefined && { body: payload }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  return { status: res.status, body: parsed };
}
