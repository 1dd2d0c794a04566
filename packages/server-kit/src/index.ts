export * from './app-error.js';
export * from './error-response.js';
export * from './logger.js';
export * from './identity-token.js';
export * from './service-app.js';
export * from './validate.js';
export * from './sse.js';
export * from './listen.js';
