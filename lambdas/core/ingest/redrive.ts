/**
 * What a dead-letter message holds, and whether it can be put back on the stream. Only letters that
 * carry a record can: the consumer's invalid records (`data` or `dataBase64`, `partitionKey`) and the
 * source pollers' refused puts (`kind: "put"`). The others hold metadata, windows or events; each gets
 * the step that does apply to it.
 */
export type RedriveDecision =
  | { readonly redrive: true; readonly data: Uint8Array; readonly partitionKey: string; readonly reason: string }
  | { readonly redrive: false; readonly what: string; readonly nextStep: string };

export class DeadLetterFormatError extends Error {
  override readonly name = 'DeadLetterFormatError';
}

/**
 * @example
 * // put the record back on the stream, or leave the letter in place (with why)
 * const decision = redriveDecision(message.body);
 */
export function redriveDecision(body: string): RedriveDecision {
  let letter: unknown;
  try {
    letter = JSON.parse(body);
  } catch (e) {
    throw new DeadLetterFormatError(`message body is not JSON (${(e as Error).message}): ${body.slice(0, 80)}`);
  }
  if (typeof letter !== 'object' || letter === null || Array.isArray(letter))
    throw new DeadLetterFormatError(`message body is not a JSON object: ${body.slice(0, 80)}`);
  const l = letter as Record<string, unknown>;
  if (isObject(l.KinesisBatchInfo)) {
    const b = l.KinesisBatchInfo;
    return {
      redrive: false,
      what:
        `consumer batch failure (metadata only: ${String(b.shardId)} ${String(b.startSequenceNumber)}..` +
        `${String(b.endSequenceNumber)})`,
      nextStep: 'replay that range from the raw archive (docs/runbook.md, ConsumerFailureQueue)',
    };
  }
  if (isObject(l.requestContext) && 'requestPayload' in l) {
    return {
      redrive: false,
      what:
        `failed invocation of ${String(l.requestContext.functionArn ?? 'a function')} (` +
        `${String(l.requestContext.condition ?? 'error')})`,
      nextStep: 'fix the cause, then invoke the function again with its requestPayload',
    };
  }
  if (typeof l['detail-type'] === 'string')
    return {
      redrive: false,
      what: `undelivered EventBridge event "${l['detail-type']}"`,
      nextStep: 'fix the target, then send the event to it again',
    };
  if ((l.kind === 'fetch' || (l.kind === 'put' && l.truncated === true)) && isObject(l.window)) {
    const window = `${String(l.window.from)}..${String(l.window.to)}`;
    const backfill =
      `backfill it: invoke the poller with {"window":{"from":"${String(l.window.from)}","to":"` +
      `${String(l.window.to)}"}}`;
    if (l.kind === 'put')
      return {
        redrive: false,
        what: `record of source ${String(l.source)} (window ${window}) too large to keep in the letter`,
        nextStep: backfill,
      };
    return {
      redrive: false,
      what: `window ${window} of source ${String(l.source)} not fetched: ${String(l.reason)}`,
      nextStep: backfill,
    };
  }
  if (l.kind === 'mapping')
    return {
      redrive: false,
      what: `item of source ${String(l.source)} that is not an envelope: ${String(l.reason)}`,
      nextStep: 'fix sources[].mapping; the next poll of that window maps it',
    };
  if (
    typeof l.partitionKey === 'string' &&
    l.partitionKey !== '' &&
    (typeof l.data === 'string' || typeof l.dataBase64 === 'string')
  ) {
    const data =
      typeof l.data === 'string' ? Buffer.from(l.data, 'utf8') : Buffer.from(l.dataBase64 as string, 'base64');
    return {
      redrive: true,
      data,
      partitionKey: l.partitionKey,
      reason: typeof l.reason === 'string' ? l.reason : '(no reason)',
    };
  }
  throw new DeadLetterFormatError(
    `not an anomaly-guard dead letter: no record (data or dataBase64 with a partitionKey), batch metadata, ` +
      `invocation, event or source window in ${body.slice(0, 80)}`,
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
