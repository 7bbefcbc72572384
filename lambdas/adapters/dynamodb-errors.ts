/**
 * A conditional write (or delete) whose condition did not hold: someone else got there first. By name, not
 * `instanceof`: a document client, a second SDK copy or a mocked client may throw another class of it.
 */
export function isConditionFailure(e: unknown): boolean {
  return (e as Error | undefined)?.name === 'ConditionalCheckFailedException';
}
