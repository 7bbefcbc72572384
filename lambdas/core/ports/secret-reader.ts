/** Reads a secret's value by id or ARN. */
export type SecretReader = (secretId: string) => Promise<string>;
