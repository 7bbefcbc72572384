import type { z } from 'zod';
import {
  ApproveRequest,
  ChangeRequest,
  FeedbackRequest,
  MitigateRequest,
  ReportQuery,
  RollbackRequest,
  ScoreRequest,
  TimelineQuery,
  WhitelistRequest,
} from './schemas.js';

export type RouteId =
  | 'score'
  | 'mitigate'
  | 'rollback'
  | 'report'
  | 'whitelist'
  | 'timeline'
  | 'changes'
  | 'feedback'
  | 'approve';

/**
 * What a route needs of a signed-in dashboard user (lambdas/handlers/api/http.ts): `read` is the `viewer` role's,
 * `operate` (anything that changes state) the `operator` role's. IAM-signed machines are governed by their IAM policy.
 */
export type RouteAccess = 'read' | 'operate';

export interface ApiRoute {
  id: RouteId;
  method: 'GET' | 'POST';
  /** Under the stage, e.g. `/v1/anomaly/score`. */
  path: string;
  /** Where the input is: a JSON body or the query string. */
  input: { in: 'body' | 'query'; schema: z.ZodType };
  /** Status codes this route answers with besides the shared errors (400, 403, 413, 429). */
  responses: Readonly<Record<number, string>>;
  summary: string;
  /** What a signed-in user needs to call it. */
  access: RouteAccess;
  /** A request this route only reads for (a mitigate dry run): it needs `read` whatever `access` says. */
  readOnlyWhen?: (input: unknown) => boolean;
}

/** A mitigate body with `dry_run: true`: the plan and the policy decision, nothing changed. */
export function isDryRun(input: unknown): boolean {
  return typeof input === 'object' && input !== null && (input as { dry_run?: unknown }).dry_run === true;
}

/**
 * The operator API (docs/architecture.md contract 2): the gateway, the handlers, the local server and the OpenAPI
 * document all read this table.
 */
export const API_ROUTES: readonly ApiRoute[] = [
  {
    id: 'score',
    access: 'read',
    method: 'POST',
    path: '/v1/anomaly/score',
    input: { in: 'body', schema: ScoreRequest },
    responses: {
      200: 'Scores against the stored baselines, the expected band, cause candidates and correlated changes',
    },
    summary: 'Score signal values against the stored baselines without changing any state',
  },
  {
    id: 'mitigate',
    access: 'operate',
    readOnlyWhen: isDryRun,
    method: 'POST',
    path: '/v1/anomaly/mitigate',
    input: { in: 'body', schema: MitigateRequest },
    responses: {
      200: 'Dry run: the plan and the policy decision; nothing changed',
      202: 'Mitigation execution started, with its rollback key',
      403: 'The guardrails deny every stage of the plan (reasons in details)',
      404: 'No anomaly with this key',
      409: 'The episode already has a mitigation execution',
    },
    summary: 'Start the mitigation playbook for an anomaly episode, or plan it (dry_run)',
  },
  {
    id: 'rollback',
    access: 'operate',
    method: 'POST',
    path: '/v1/anomaly/rollback',
    input: { in: 'body', schema: RollbackRequest },
    responses: {
      202:
        'Rollback accepted (idempotent: nothing outstanding is not an error). For an episode key the episode is ' +
        'halted and its execution stopped first (`halted`, `stoppedExecution`), also when nothing was recorded yet ' +
        '(`status: nothing-applied`)',
      404:
        'Nothing is known under this key: no execution and no action for an episode key, ' +
        'no action for an action key',
    },
    summary: 'Roll back everything applied under a rollback key, newest first',
  },
  {
    id: 'report',
    access: 'read',
    method: 'GET',
    path: '/v1/anomaly/report',
    input: { in: 'query', schema: ReportQuery },
    responses: {
      200:
        'Anomalies, actions, approval requests, savings estimate, the cost card (day/week/month forecast vs actual, ' +
        "each mitigation's before/after) and report links for the range",
    },
    summary: 'Anomalies, mitigation actions and savings over a time range',
  },
  {
    id: 'whitelist',
    access: 'operate',
    method: 'POST',
    path: '/v1/anomaly/policy/whitelist',
    input: { in: 'body', schema: WhitelistRequest },
    responses: { 201: 'Whitelist window stored; the guardrails allow only soft actions for the tenant inside it' },
    summary: 'Whitelist a tenant for a campaign window (soft mitigation only)',
  },
  {
    id: 'timeline',
    access: 'read',
    method: 'GET',
    path: '/v1/anomaly/timeline',
    input: { in: 'query', schema: TimelineQuery },
    responses: {
      200:
        'Signals (with the direction each goes wrong) and expected bands, anomalies, changes, actions and approval ' +
        'requests of one tenant',
    },
    summary: 'What the dashboard draws for one tenant over a time range',
  },
  {
    id: 'changes',
    access: 'operate',
    method: 'POST',
    path: '/v1/anomaly/changes',
    input: { in: 'body', schema: ChangeRequest },
    responses: {
      200: 'A change with this id and the same content is already stored (idempotent replay); nothing changed',
      201:
        'Change window stored with the caller as its creator; the correlator applies it (a maintenance window ' +
        'suppresses paging while it runs)',
      409: 'The id is already used by a change with different content',
    },
    summary: 'Declare a change window (maintenance, release, campaign ...) for a tenant or for every tenant (*)',
  },
  {
    id: 'feedback',
    access: 'operate',
    method: 'POST',
    path: '/v1/anomaly/feedback',
    input: { in: 'body', schema: FeedbackRequest },
    responses: {
      200: 'The verdict is already the latest for this anomaly (idempotent); nothing was stored',
      201:
        'Verdict stored with the caller (a changed verdict is a new entry; nothing is deleted). false_positive: ' +
        'the key needs more confidence to page for 7 days (sensitivity in the body); expected: a suggested ' +
        'whitelist or change-window request, not sent',
      404: 'No anomaly with this key',
    },
    summary: 'Give a verdict on an anomaly: true_positive, false_positive (the key pages less for 7 days) or expected',
  },
  {
    id: 'approve',
    access: 'operate',
    method: 'POST',
    path: '/v1/anomaly/approve',
    input: { in: 'body', schema: ApproveRequest },
    responses: {
      200:
        'Answer recorded with the caller and the waiting execution resumed: approved steps are applied (the ' +
        'guardrails decide again), denied ones are not. The same answer again changes nothing (recorded: false)',
      404: 'No approval request under this key (or none pending for this episode key)',
      409: 'The request was already answered otherwise, or expired (nothing was applied)',
    },
    summary: 'Approve or deny the steps a mitigation waits on (hard, platform-wide or irreversible steps)',
  },
];

/** What this request to the route needs: its `access`, or `read` for a request it only reads for (a dry run). */
export function accessNeeded(route: ApiRoute, input: unknown): RouteAccess {
  return route.readOnlyWhen?.(input) ? 'read' : route.access;
}

export function routeById(id: RouteId): ApiRoute {
  const route = API_ROUTES.find((r) => r.id === id);
  if (!route) throw new Error(`no API route ${id}`);
  return route;
}
