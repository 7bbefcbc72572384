// The ports: what the use cases need from the outside world, one interface per file. Adapters
// (lambdas/adapters/) implement them; the use cases (lambdas/usecases/) and the handlers depend on them.
export type * from './action-ledger.js';
export type * from './action-target.js';
export type * from './anomaly-store.js';
export type * from './approval-store.js';
export type * from './change-store.js';
export type * from './dead-letter-sink.js';
export type * from './dead-letter-source.js';
export type * from './episode-trace-store.js';
export type * from './event-bus.js';
export type * from './feedback-store.js';
export type * from './guardrails.js';
export type * from './incident-store.js';
export * from './kill-switch.js';
export type * from './mitigation-starter.js';
export type * from './notifier.js';
export type * from './position-ledger.js';
export type * from './report-store.js';
export type * from './rollback-requester.js';
export type * from './secret-reader.js';
export type * from './window-carry-store.js';
export type * from './window-store.js';
