export * from './activate-index-version.js';
