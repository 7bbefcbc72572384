// In-memory adapters: the ports kept in process memory, for replay, backtests and tests.
export * from './action-ledger.js';
export * from './anomaly-store.js';
export * from './approval-store.js';
export * from './change-store.js';
export * from './episode-trace-store.js';
export * from './incident-store.js';
export * from './feedback-store.js';
export * from './position-ledger.js';
export * from './slot-store.js';
export * from './window-store.js';
