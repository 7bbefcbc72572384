import type { z } from 'zod';

/** docs/architecture.md contract 2: every error is `{"error":{"code","message","details"}}`. */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export type ErrorCode =
  | 'InvalidRequest'
  | 'MalformedJson'
  | 'PolicyDenied'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'Forbidden'
  | 'NotFound'
  | 'Conflict'
  | 'MethodNotAllowed'
  | 'InternalError';

/** An outcome the caller caused or should know about; anything else is a 500. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** `signals[0].value`, the way a caller writes the path into their request. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

/** A 400 that names every offending field. */
export function invalidRequest(issues: readonly z.core.$ZodIssue[], where: 'body' | 'query'): ApiError {
  const fields = issues.map((i) => {
    const path = fieldPath(i.path);
    const unknown = i.code === 'unrecognized_keys' ? i.keys.map((k) => (path ? `${path}.${k}` : k)) : [];
    return {
      field: unknown.length ? unknown.join(', ') : path || where,
      message: unknown.length ? 'unknown field' : i.message,
    };
  });
  return new ApiError(400, 'InvalidRequest', fields.map((f) => `${f.field}: ${f.message}`).join('; '), { fields });
}
