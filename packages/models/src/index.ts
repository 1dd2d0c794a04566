export * from './spec/usage.js';
export * from './spec/call-options.js';
export * from './spec/embedding/embedding-model-v1.js';
export * from './spec/rerank/reranking-model-v1.js';
export * from './spec/generation/generation-model-v1.js';
export * from './errors/provider-error.js';
