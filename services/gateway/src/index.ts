export * from './gateway-service.js';
export * from './config.js';
export * from './catalog-from-env.js';
export * from './model-catalog.js';
export * from './ledger.js';
export * from './model-service.js';
export * from './caller-identity.js';
