export * from './error-codes.js';
export * from './error-body.js';
export * from './common.js';
export * from './collections.js';
export * from './documents.js';
export * from './search.js';
export * from './identity.js';
export * from './chunks.js';
