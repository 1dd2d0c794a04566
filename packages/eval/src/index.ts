export * from './metrics.js';
export * from './stats.js';
export * from './report.js';
export * from './beir.js';
export * from './client.js';
export * from './api-schemas.js';
