export * from './gateway-models.js';
