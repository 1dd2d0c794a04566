import type { ModelPrice, PriceCatalog } from './model-price.js';

/** Self-hosted and in-process models cost nothing per token; listed so the ledger records 0 instead of "unpriced". */
const selfHosted = (): ModelPrice => ({ input: '0', output: '0', asOf: '2026-11-25', source: 'self-hosted: no per-token price' });

export const SELF_HOSTED_PRICES: PriceCatalog = {
  'ollama/llama3.2': selfHosted(),
  'ollama/llama3.1': selfHosted(),
  'ollama/qwen3': selfHosted(),
  'ollama/nomic-embed-text': selfHosted(),
  'ollama/mxbai-embed-large': selfHosted(),
  'ollama/all-minilm': selfHosted(),
  'tei/BAAI/bge-small-en-v1.5': selfHosted(),
  'tei/BAAI/bge-base-en-v1.5': selfHosted(),
  'tei/BAAI/bge-reranker-base': selfHosted(),
  'vllm/meta-llama/Llama-3.1-8B-Instruct': selfHosted(),
  'vllm/Qwen/Qwen2.5-7B-Instruct': selfHosted(),
  'local/Xenova/bge-small-en-v1.5': selfHosted(),
  'local/Xenova/ms-marco-MiniLM-L-6-v2': selfHosted(),
};
