import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretReader } from '../core/ports/secret-reader.js';

/** How long a warm container keeps a secret: a rotated value is picked up within this. */
export const SECRET_MAX_AGE_SECONDS = 300;

/**
 * Secrets Manager through Powertools' provider, cached per id for SECRET_MAX_AGE_SECONDS; binary secrets are read as
 * UTF-8.
 */
export function cachedSecretReader(client: SecretsManagerClient, maxAgeSeconds = SECRET_MAX_AGE_SECONDS): SecretReader {
  const secrets = new SecretsProvider({ awsSdkV3Client: client });
  return async (secretId) => {
    const v = await secrets.get(secretId, { maxAge: maxAgeSeconds });
    if (typeof v === 'string') return v;
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    throw new Error(`secret ${secretId} has no value`);
  };
}
