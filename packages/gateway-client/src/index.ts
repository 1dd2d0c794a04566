export * from './gateway-models.js';
export * from './http-gateway-models.js';
