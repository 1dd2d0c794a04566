/**
 * List prices in USD, as decimal strings so that no price is ever a float. Token prices are per
 * million tokens; `searchUnit` is per unit. Keys are registry names (`provider/model`).
 *
 * - `cachedInput`: cache reads (OpenAI "cached input", Anthropic "cache hits"). Falls back to `input`.
 * - `cacheWrite`: Anthropic's 5-minute cache write rate. UsageV1 does not split writes by TTL, so
 *   1-hour writes (2x input) are under-priced by this catalog; override per deployment if used.
 *   OpenAI does not bill writes separately, so it has none (falls back to `input`).
 * - Standard tier, no batch or priority discounts, no long-context surcharges.
 *
 * Checked on `asOf` against the pages in `source` (Anthropic: the pricing table on
 * platform.claude.com; OpenAI: list prices as published on its pricing page and corroborated by
 * third-party copies of it). Update an entry's `asOf` whenever its numbers are re-checked.
 */
export interface ModelPrice {
  input: string;
  cachedInput?: string;
  cacheWrite?: string;
  output: string;
  searchUnit?: string;
  /** ISO date the price was last checked. */
  asOf: string;
  source: string;
}

export type PriceCatalog = Record<string, ModelPrice>;

const OPENAI_SOURCE = 'https://platform.openai.com/docs/pricing';
const ANTHROPIC_SOURCE = 'https://platform.claude.com/docs/en/about-claude/pricing';
const AS_OF = '2026-11-25';

const openai = (input: string, cachedInput: string | undefined, output: string): ModelPrice => ({
  input,
  ...(cachedInput !== undefined && { cachedInput }),
  output,
  asOf: AS_OF,
  source: OPENAI_SOURCE,
});

const anthropic = (input: string, cacheWrite: string, cachedInput: string, output: string): ModelPrice => ({
  input,
  cachedInput,
  cacheWrite,
  output,
  asOf: AS_OF,
  source: ANTHROPIC_SOURCE,
});

/**
 * The vendors below were priced from their published pages as of this date and not re-checked
 * against the live pages since; re-check and bump before relying on them for invoices.
 */
const VENDORS_AS_OF = '2025-10-01';

const priced =
  (source: string) =>
  (input: string, output: string, extra: Partial<Pick<ModelPrice, 'cachedInput' | 'searchUnit'>> = {}): ModelPrice => ({
    input,
    ...extra,
    output,
    asOf: VENDORS_AS_OF,
    source,
  });

// Gemini: paid tier, prompts up to 200k tokens (2.5 Pro doubles above that); cachedInput is the context-cache read rate.
const gemini = priced('https://ai.google.dev/gemini-api/docs/pricing');
const cohere = priced('https://cohere.com/pricing');
const voyage = priced('https://docs.voyageai.com/docs/pricing');
// Jina sells prepaid token packs; this is the per-million rate of the standard pack.
const jina = priced('https://jina.ai/api-dashboard/');
const deepseek = priced('https://api-docs.deepseek.com/quick_start/pricing');
const mistral = priced('https://mistral.ai/pricing#api-pricing');
const groq = priced('https://groq.com/pricing');
// DashScope international (Singapore) list prices, lowest context tier.
const qwen = priced('https://www.alibabacloud.com/help/en/model-studio/models');
const together = priced('https://www.together.ai/pricing');
/** Self-hosted and in-process models cost nothing per token; listed so the ledger records 0 instead of "unpriced". */
const selfHosted = (): ModelPrice => ({ input: '0', output: '0', asOf: AS_OF, source: 'self-hosted: no per-token price' });

export const PRICE_CATALOG: PriceCatalog = {
  'openai/gpt-4o': openai('2.50', '1.25', '10.00'),
  'openai/gpt-4o-mini': openai('0.15', '0.075', '0.60'),
  'openai/gpt-4.1': openai('2.00', '0.50', '8.00'),
  'openai/gpt-4.1-mini': openai('0.40', '0.10', '1.60'),
  'openai/gpt-4.1-nano': openai('0.10', '0.025', '0.40'),
  'openai/gpt-5': openai('1.25', '0.125', '10.00'),
  'openai/gpt-5-mini': openai('0.25', '0.025', '2.00'),
  'openai/gpt-5-nano': openai('0.05', '0.005', '0.40'),
  'openai/o3': openai('2.00', '0.50', '8.00'),
  'openai/o4-mini': openai('1.10', '0.275', '4.40'),
  'openai/text-embedding-3-small': openai('0.02', undefined, '0'),
  'openai/text-embedding-3-large': openai('0.13', undefined, '0'),
  'anthropic/claude-opus-4-1': anthropic('15', '18.75', '1.50', '75'),
  'anthropic/claude-sonnet-4-5': anthropic('3', '3.75', '0.30', '15'),
  'anthropic/claude-haiku-4-5': anthropic('1', '1.25', '0.10', '5'),
  'anthropic/claude-3-5-haiku': anthropic('0.80', '1', '0.08', '4'),
  'gemini/gemini-2.5-pro': gemini('1.25', '10.00', { cachedInput: '0.125' }),
  'gemini/gemini-2.5-flash': gemini('0.30', '2.50', { cachedInput: '0.03' }),
  'gemini/gemini-2.5-flash-lite': gemini('0.10', '0.40', { cachedInput: '0.01' }),
  'gemini/gemini-embedding-001': gemini('0.15', '0'),
  'cohere/embed-v4.0': cohere('0.12', '0'),
  'cohere/embed-english-v3.0': cohere('0.10', '0'),
  'cohere/embed-multilingual-v3.0': cohere('0.10', '0'),
  // $2.00 per 1,000 searches.
  'cohere/rerank-v3.5': cohere('0', '0', { searchUnit: '0.002' }),
  'voyage/voyage-3.5': voyage('0.06', '0'),
  'voyage/voyage-3.5-lite': voyage('0.02', '0'),
  'voyage/voyage-3-large': voyage('0.18', '0'),
  'voyage/rerank-2.5': voyage('0.05', '0'),
  'voyage/rerank-2.5-lite': voyage('0.02', '0'),
  'jina/jina-embeddings-v3': jina('0.05', '0'),
  'jina/jina-reranker-v2-base-multilingual': jina('0.05', '0'),
  // deepseek-chat and deepseek-reasoner share one price since V3.2; cachedInput is the cache-hit rate.
  'deepseek/deepseek-chat': deepseek('0.28', '0.42', { cachedInput: '0.028' }),
  'deepseek/deepseek-reasoner': deepseek('0.28', '0.42', { cachedInput: '0.028' }),
  'mistral/mistral-large-latest': mistral('2', '6'),
  'mistral/mistral-medium-latest': mistral('0.40', '2'),
  'mistral/mistral-small-latest': mistral('0.10', '0.30'),
  'mistral/mistral-embed': mistral('0.10', '0'),
  'groq/llama-3.1-8b-instant': groq('0.05', '0.08'),
  'groq/llama-3.3-70b-versatile': groq('0.59', '0.79'),
  'groq/meta-llama/llama-4-scout-17b-16e-instruct': groq('0.11', '0.34'),
  'groq/meta-llama/llama-4-maverick-17b-128e-instruct': groq('0.20', '0.60'),
  'qwen/qwen-max': qwen('1.60', '6.40'),
  'qwen/qwen-plus': qwen('0.40', '1.20'),
  'qwen/qwen-turbo': qwen('0.05', '0.20'),
  'together/meta-llama/Llama-3.3-70B-Instruct-Turbo': together('0.88', '0.88'),
  'together/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo': together('0.18', '0.18'),
  'together/deepseek-ai/DeepSeek-V3': together('1.25', '1.25'),
  'together/Qwen/Qwen2.5-72B-Instruct-Turbo': together('1.20', '1.20'),
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
