import { createModelRegistry, createPriceBook, type ModelRegistry } from '@quire/models';
import { createLogger } from '@quire/server-kit';
import { createModelCatalog } from './model-catalog.js';

const logger = createLogger({ test: 'model-catalog' }, 'error');

/** A registry with a chat+embedding, a chat-only and an embedding+rerank provider, its factories counted. */
function countedRegistry() {
  const registry = createModelRegistry({
    primary: { type: 'openai-compatible', baseURL: 'http://127.0.0.1:9', apiKey: 'sk-test', allowLoopback: true },
    claude: { type: 'anthropic', apiKey: 'sk-test' },
    co: { type: 'cohere', apiKey: 'sk-test' },
  });
  const calls: string[] = [];
  const counted: ModelRegistry = {
    providers: () => registry.providers(),
    generationModel: (n) => (calls.push(n), registry.generationModel(n)),
    embeddingModel: (n) => (calls.push(n), registry.embeddingModel(n)),
    rerankingModel: (n) => (calls.push(n), registry.rerankingModel(n)),
  };
  return { registry, counted, calls };
}

/** What the routes API used to do: try to build each kind of model, keep the first refusal. */
function byBuilding(registry: ModelRegistry, name: string): string | null {
  let first: unknown;
  for (const make of [registry.generationModel, registry.embeddingModel, registry.rerankingModel]) {
    try {
      make(name);
      return null;
    } catch (error) {
      first ??= error;
    }
  }
  return (first as Error).message;
}

const NAMES = ['primary/gpt-4o-mini', 'primary/meta-llama/Llama-3.1-8B', 'claude/claude-3-5-haiku', 'co/rerank-v3.5', 'openai/gpt-4o', 'nope/x', 'no-slash', 'a/', '/b'];

describe('resolveProblem', () => {
  test.each(NAMES)('answers as building the model would, for %s', (name) => {
    const { registry, counted } = countedRegistry();
    const catalog = createModelCatalog(counted, createPriceBook({}), logger);
    expect(catalog.resolveProblem(name)).toBe(byBuilding(registry, name));
  });

  test('builds no model for a name that resolves', () => {
    const { counted, calls } = countedRegistry();
    const catalog = createModelCatalog(counted, createPriceBook({}), logger);
    for (const name of ['primary/gpt-4o-mini', 'claude/claude-3-5-haiku', 'co/rerank-v3.5']) expect(catalog.resolveProblem(name)).toBeNull();
    expect(calls).toEqual([]);
  });
});

describe('costOf', () => {
  test('an unpriced model is warned about once; a kb/ collection, which is not a model, never', () => {
    const warnings: string[] = [];
    const quiet = createLogger({ test: 'model-catalog' }, 'error');
    const capturing = { ...quiet, warn: (msg: string, fields?: Record<string, unknown>) => void warnings.push(`${msg} ${String(fields?.model)}`) };
    const catalog = createModelCatalog(countedRegistry().registry, createPriceBook(), capturing, []);
    const usage = { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true };
    expect(catalog.costOf('kb/Handbook', usage)).toBeNull();
    expect(catalog.costOf('primary/unpriced-model', usage)).toBeNull();
    expect(catalog.costOf('primary/unpriced-model', usage)).toBeNull();
    expect(warnings).toEqual(['model has no price; its calls are metered with cost null primary/unpriced-model']);
  });
});

describe('selfHosted', () => {
  test("is decided by the configured provider's type, not its name: ollama, tei, vllm and local are; a generic OpenAI-compatible server is not", () => {
    const registry = createModelRegistry({
      ollama: { type: 'ollama', baseURL: 'http://127.0.0.1:11434', allowLoopback: true },
      'my-vllm': { type: 'vllm', baseURL: 'http://127.0.0.1:8000/v1', allowLoopback: true },
      embed: { type: 'tei', baseURL: 'http://127.0.0.1:8080', allowLoopback: true },
      vllm: { type: 'openai-compatible', baseURL: 'https://api.example.com/v1', apiKey: 'sk-test' },
      together: { type: 'together', apiKey: 'sk-test' },
    });
    const catalog = createModelCatalog(registry, createPriceBook({}), logger);
    for (const name of ['ollama/llama3.3', 'my-vllm/Qwen/Qwen3-8B', 'embed/BAAI/bge-m3']) expect([name, catalog.selfHosted(name)]).toEqual([name, true]);
    for (const name of ['vllm/gpt-4o', 'together/meta-llama/Llama-3-70b', 'local/Xenova/x', 'no-slash', '/x']) expect([name, catalog.selfHosted(name)]).toEqual([name, false]);
  });
});
