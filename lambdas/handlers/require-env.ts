/** A variable the construct always sets; missing means the function was deployed by hand or mis-wired. */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}
