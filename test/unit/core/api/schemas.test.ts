import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { invalidRequest } from '../../../../lambdas/core/api/errors.js';
import {
  ChangeRequest,
  MAX_CHANGE_WINDOW_MS,
  MitigateRequest,
  rangeMs,
  ReportQuery,
  RollbackRequest,
  ScoreRequest,
  WhitelistRequest,
} from '../../../../lambdas/core/api/schemas.js';
import { episodeRollbackKey, rollbackKey } from '../../../../lambdas/core/mitigation/keys.js';
import { episodeId } from '../../../../lambdas/core/episodes.js';

function errorOf(schema: z.ZodType, value: unknown) {
  const r = schema.safeParse(value);
  if (r.success) throw new Error('expected a validation error');
  return invalidRequest(r.error.issues, 'body');
}

describe('operator API request schemas', () => {
  it('accepts the episode keys the consumer produces, metric and engagement alike', () => {
    const start = Date.parse('2026-11-22T10:15:00Z');
    for (const key of [episodeId('acme#cqs_p95', start), episodeId('acme#engagement@user@example.com', start)])
      expect(MitigateRequest.safeParse({ key }).success, key).toBe(true);
    expect(MitigateRequest.safeParse({ key: 'acme#cqs_p95' }).success).toBe(false);
  });

  it('accepts the rollback keys the workflow hands out, episode and action alike', () => {
    const id = 'acme#cqs_p95@2026-11-22T10:15Z';
    for (const key of [episodeRollbackKey(id), rollbackKey(id, 'search-cost/rows-limit')])
      expect(RollbackRequest.safeParse({ key }).success, key).toBe(true);
    expect(RollbackRequest.safeParse({ key: 'rb-' }).success).toBe(false);
  });

  it('names nested fields the way a caller writes them, and unknown fields by name', () => {
    const e = errorOf(ScoreRequest, {
      signals: [
        { tenant: 'acme', signal: 'x', value: 1, ts: 0 },
        { tenant: 'acme', signal: 'x', value: 1, ts: 1.7e12, extra: 1 },
      ],
    });
    expect(e.status).toBe(400);
    expect(e.details.fields).toEqual([
      { field: 'signals[0].ts', message: expect.stringContaining('ISO-8601') },
      { field: 'signals[1].extra', message: 'unknown field' },
    ]);
    expect(e.message).toBe(
      `signals[0].ts: ${(e.details.fields as { message: string }[])[0]!.message}; signals[1].extra: unknown field`,
    );
  });

  it('parses ranges and refuses ranges over 31 days', () => {
    expect(rangeMs('90m')).toBe(90 * 60_000);
    expect(rangeMs('24h')).toBe(86_400_000);
    expect(ReportQuery.parse({})).toEqual({ range: '24h' });
    expect(ReportQuery.safeParse({ range: '31d' }).success).toBe(true);
    expect(errorOf(ReportQuery, { range: '32d' }).message).toBe('range: must be at most 31d');
  });

  it('takes whitelist windows as ISO strings or epoch ms and refuses inverted ones', () => {
    const from = Date.parse('2026-11-22T10:00:00Z');
    expect(
      WhitelistRequest.parse({ tenant: 'acme', window: { from: '2026-11-22T10:00:00Z', to: from + 86_400_000 } })
        .window,
    ).toEqual({ from, to: from + 86_400_000 });
    expect(errorOf(WhitelistRequest, { tenant: 'acme', window: { from, to: from - 1 } }).details.fields).toEqual([
      { field: 'window.to', message: 'to must be after from' },
    ]);
  });

  it('takes a stream change record as it is, platform-wide included, and bounds its window', () => {
    const record = {
      v: 1,
      type: 'change',
      id: 'mw-1',
      ts: '2026-11-22T09:40:00Z',
      tenant: '*',
      change: 'maintenance',
      until: '2026-11-22T10:10:00Z',
      region: 'kr',
      title: 'origin',
    };
    expect(ChangeRequest.parse(record)).toMatchObject({
      id: 'mw-1',
      tenant: '*',
      ts: Date.parse(record.ts),
      until: Date.parse(record.until),
    });
    const ts = Date.parse(record.ts);
    expect(ChangeRequest.safeParse({ ...record, until: ts + MAX_CHANGE_WINDOW_MS }).success).toBe(true);
    expect(errorOf(ChangeRequest, { ...record, until: ts + MAX_CHANGE_WINDOW_MS + 1 }).message).toBe(
      'until: the window (ts..until) must be at most 14 days',
    );
    expect(errorOf(ChangeRequest, { ...record, until: ts }).message).toBe('until: must be after ts');
    const { until: _until, id: _id, ...open } = record;
    expect(errorOf(ChangeRequest, open).details.fields).toEqual([
      expect.objectContaining({ field: 'id' }),
      expect.objectContaining({ field: 'until' }),
    ]);
  });
});
