export * from './activate-index-version.js';
export * from './vector-graph.js';
export * from './collection-locks.js';
export * from './record-activation.js';
export * from './collection-audit.js';
export * from './keyword-index-state.js';
