export * from './stored-queries.js';
