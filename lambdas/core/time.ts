/**
 * Durations in milliseconds (and seconds, for DynamoDB TTLs), named once for the whole code base.
 *
 * @example
 * const minute = Math.floor(ts / MINUTE_MS) * MINUTE_MS;
 * const expiresAt = Math.floor(now / 1000) + 400 * DAY_S;
 */
export const SECOND_MS = 1_000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** A day in seconds (TTL attributes are epoch seconds). */
export const DAY_S = DAY_MS / SECOND_MS;
