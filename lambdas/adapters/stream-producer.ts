import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';

export interface ProduceOptions {
  /** Attempts per entry, counting the first. */
  maxAttempts?: number;
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ProduceResult {
  sent: number;
  /** Entries still failing after every attempt, with the last error Kinesis gave for each. */
  failed: { entry: PutRecordsRequestEntry; errorCode: string; errorMessage: string }[];
  attempts: number;
}

const PUT_RECORDS_MAX_ENTRIES = 500;
const NOT_RETRYABLE = new Set([
  'ResourceNotFoundException',
  'ValidationException',
  'InvalidArgumentException',
  'AccessDeniedException',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSNotFoundException',
]);
const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

/**
 * PutRecords in request-sized chunks, retrying only the entries Kinesis reports as failed
 * (throttled or internal errors), with exponential backoff. Entries that succeeded are never re-sent.
 */
export async function putRecordsReliably(
  kinesis: KinesisClient,
  streamName: string,
  entries: readonly PutRecordsRequestEntry[],
  opts: ProduceOptions = {},
): Promise<ProduceResult> {
  const maxAttempts = opts.maxAttempts ?? 6;
  const baseDelay = opts.baseDelayMs ?? 50;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const result: ProduceResult = { sent: 0, failed: [], attempts: 0 };
  for (const chunk of chunksForPutRecords(entries)) {
    let pending = chunk;
    for (let attempt = 1; pending.length; attempt++) {
      result.attempts++;
      let lastErrors: { errorCode: string; errorMessage: string }[];
      try {
        const out = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: pending }));
        const retry: PutRecordsRequestEntry[] = [];
        lastErrors = [];
        (out.Records ?? []).forEach((r, i) => {
          if (r.ErrorCode) {
            retry.push(pending[i]!);
            lastErrors.push({ errorCode: r.ErrorCode, errorMessage: r.ErrorMessage ?? '' });
          } else result.sent++;
        });
        pending = retry;
      } catch (e) {
        // The whole request failed: every entry is retried, unless retrying cannot help.
        const err = e as Error;
        lastErrors = pending.map(() => ({ errorCode: err.name, errorMessage: err.message }));
        if (NOT_RETRYABLE.has(err.name)) attempt = maxAttempts;
      }
      if (!pending.length) break;
      if (attempt >= maxAttempts) {
        pending.forEach((entry, i) => result.failed.push({ entry, ...lastErrors[i]! }));
        break;
      }
      await sleep(Math.min(5_000, baseDelay * 2 ** (attempt - 1)));
    }
  }
  return result;
}

function* chunksForPutRecords(entries: readonly PutRecordsRequestEntry[]): Generator<PutRecordsRequestEntry[]> {
  let chunk: PutRecordsRequestEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = (e.Data?.byteLength ?? 0) + Buffer.byteLength(e.PartitionKey ?? '');
    if (chunk.length && (chunk.length >= PUT_RECORDS_MAX_ENTRIES || bytes + size > PUT_RECORDS_MAX_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(e);
    bytes += size;
  }
  if (chunk.length) yield chunk;
}
