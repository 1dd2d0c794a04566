export * from './gateway-models.js';
export * from './http-gateway-models.js';
export * from './model-names.js';
