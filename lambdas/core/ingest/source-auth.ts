import type { SourceAuth } from './source-config.js';

/**
 * The request headers that carry a source's credential. The secret is the token itself, or JSON
 * `{"token"}`; for `basic`, JSON `{"username","password"}`.
 */
export function authHeaders(auth: SourceAuth, secret: string): Record<string, string> {
  const json = parseJson(secret);
  if (auth.scheme === 'basic') {
    if (typeof json?.username !== 'string' || typeof json.password !== 'string')
      throw new Error(`secret ${auth.secret} must be JSON {"username","password"} for basic auth`);
    return { authorization: `Basic ${Buffer.from(`${json.username}:${json.password}`).toString('base64')}` };
  }
  const token = json ? json.token : secret.trim();
  if (typeof token !== 'string' || !token)
    throw new Error(`secret ${auth.secret} must be the token, or JSON {"token"}`);
  return auth.scheme === 'bearer' ? { authorization: `Bearer ${token}` } : { [auth.header!.toLowerCase()]: token };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  if (!text.trim().startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
