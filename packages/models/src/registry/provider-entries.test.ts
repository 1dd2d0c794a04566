import { startFakeCohere, startFakeGemini, startFakeOllama, startFakeOpenAI, startFakeOpenAIDialect, startFakeTei, startFakeVoyage, type FakeServer } from '@quire/fakes';
import { createModelRegistry } from './model-registry.js';
import { providersFromEnv } from './providers-config.js';
import { RegistryError } from './registry-error.js';

function registryError(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (error) {
    if (RegistryError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a RegistryError');
}

describe('registry with every provider type', () => {
  const fakes: FakeServer[] = [];
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
  });
  const start = async <T extends FakeServer>(fake: Promise<T>): Promise<T> => {
    const started = await fake;
    fakes.push(started);
    return started;
  };

  it('resolves generation, embedding and reranking models per capability', async () => {
    const [gemini, cohere, voyage, tei, ollama, deepseek] = await Promise.all([
      start(startFakeGemini({ apiKey: 'g' })),
      start(startFakeCohere({ apiKey: 'c' })),
      start(startFakeVoyage({ apiKey: 'v' })),
      start(startFakeTei()),
      start(startFakeOllama()),
      start(startFakeOpenAIDialect({ dialect: 'deepseek', apiKey: 'd' })),
    ]);
    const registry = createModelRegistry({
      gemini: { type: 'gemini', baseURL: gemini.url, apiKey: 'g', allowLoopback: true },
      cohere: { type: 'cohere', baseURL: cohere.url, apiKey: 'c', allowLoopback: true },
      voyage: { type: 'voyage', baseURL: voyage.url, apiKey: 'v', allowLoopback: true },
      tei: { type: 'tei', baseURL: tei.url, allowPrivateNetwork: true },
      ollama: { type: 'ollama', baseURL: ollama.url, allowLoopback: true },
      deepseek: { type: 'deepseek', baseURL: deepseek.url, apiKey: 'd', allowLoopback: true },
    });
    const messages = [{ role: 'user' as const, content: 'Hi' }];
    expect((await registry.generationModel('gemini/gemini-2.5-flash').doGenerate({ messages })).text).toContain('fake Gemini');
    expect((await registry.generationModel('ollama/llama3.2').doGenerate({ messages })).text).toContain('fake Ollama');
    expect((await registry.generationModel('deepseek/deepseek-chat').doGenerate({ messages })).usage.reported).toBe(true);
    expect((await registry.embeddingModel('cohere/embed-v4.0').doEmbed({ values: ['a'] })).embeddings).toHaveLength(1);
    expect((await registry.embeddingModel('tei/bge-small').doEmbed({ values: ['a'] })).embeddings).toHaveLength(1);
    const documents = ['cats purr', 'dogs bark'];
    for (const name of ['cohere/rerank-v3.5', 'voyage/rerank-2.5', 'tei/bge-reranker-base']) {
      expect((await registry.rerankingModel(name).doRerank({ query: 'why do dogs bark', documents })).results[0]?.index).toBe(1);
    }
    expect(registryError(() => registry.rerankingModel('gemini/gemini-2.5-flash')).code).toBe('model_capability_unsupported');
    expect(registryError(() => registry.embeddingModel('deepseek/deepseek-chat')).code).toBe('model_capability_unsupported');
    expect(registryError(() => registry.generationModel('cohere/command-a')).code).toBe('model_capability_unsupported');
  });

  it('admits loopback and private base URLs only when the provider says so, and metadata never', async () => {
    const openai = await start(startFakeOpenAI());
    const config = { openai: { type: 'openai-compatible' as const, baseURL: openai.url } };
    const refused = registryError(() => createModelRegistry(config));
    expect(refused).toMatchObject({ code: 'unsafe_base_url' });
    expect(refused.message).toContain('Provider "openai"');
    expect(refused.message).toContain('"allowLoopback": true');
    expect(createModelRegistry({ openai: { ...config.openai, allowLoopback: true } }).providers()).toHaveLength(1);
    expect(createModelRegistry({ openai: { ...config.openai, allowPrivateNetwork: true } }).providers()).toHaveLength(1);
    expect(registryError(() => createModelRegistry({ lan: { type: 'vllm', baseURL: 'http://10.0.0.8:8000/v1', allowLoopback: true } })).code).toBe('unsafe_base_url');
    expect(createModelRegistry({ lan: { type: 'vllm', baseURL: 'http://10.0.0.8:8000/v1', allowPrivateNetwork: true } }).providers()).toHaveLength(1);
    expect(registryError(() => createModelRegistry({ x: { type: 'ollama', baseURL: 'http://169.254.169.254', allowPrivateNetwork: true } })).message).toContain('metadata');
    // A default URL on localhost (Ollama's) needs the flag too.
    expect(registryError(() => createModelRegistry({ ollama: { type: 'ollama' } })).code).toBe('unsafe_base_url');
  });

  it('checks literal addresses when a caller supplies its own fetch, and then calls that fetch as given', async () => {
    const seen: string[] = [];
    const fetch = (async (url: string | URL | Request) => {
      seen.push(String(url));
      return new Response(JSON.stringify({ data: [{ index: 0, embedding: [0.5] }], usage: { prompt_tokens: 1, total_tokens: 1 } }), { headers: { 'content-type': 'application/json' } });
    }) as typeof globalThis.fetch;
    for (const baseURL of ['http://10.0.0.8/v1', 'http://[::ffff:127.0.0.1]/v1', 'http://169.254.169.254/v1', 'http://localhost:1/v1']) {
      expect(registryError(() => createModelRegistry({ p: { type: 'openai-compatible', baseURL } }, { fetch })).code).toBe('unsafe_base_url');
    }
    // A name is the embedder's transport's business: the connect-time guard does not run inside it.
    const registry = createModelRegistry({ p: { type: 'openai-compatible', baseURL: 'http://models.internal.test/v1' } }, { fetch });
    expect((await registry.embeddingModel('p/e').doEmbed({ values: ['a'] })).embeddings).toEqual([[0.5]]);
    expect(seen).toEqual(['http://models.internal.test/v1/embeddings']);
  });

  it('calls a provider named by a host name through the connect-time guard when the policy allows it', async () => {
    const openai = await start(startFakeOpenAI());
    const byName = openai.url.replace('127.0.0.1', 'localhost');
    const registry = createModelRegistry({ openai: { type: 'openai-compatible', baseURL: byName, allowLoopback: true } });
    expect((await registry.generationModel('openai/gpt-4o-mini').doGenerate({ messages: [{ role: 'user', content: 'Hi' }] })).text.length).toBeGreaterThan(0);
  });
});

describe('providersFromEnv for every provider', () => {
  it('builds each provider from its variables', () => {
    const config = providersFromEnv({
      GEMINI_API_KEY: 'g',
      COHERE_API_KEY: 'c',
      VOYAGE_API_KEY: 'v',
      JINA_API_KEY: 'j',
      DEEPSEEK_API_KEY: 'd',
      DASHSCOPE_API_KEY: 'q',
      MISTRAL_API_KEY: 'm',
      GROQ_API_KEY: 'gr',
      TOGETHER_API_KEY: 't',
      AZURE_OPENAI_API_KEY: 'az',
      AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com',
      OLLAMA_BASE_URL: 'http://ollama:11434',
      TEI_BASE_URL: 'http://tei:8080',
      VLLM_BASE_URL: 'http://10.0.0.8:8000/v1',
    });
    expect(config).toEqual({
      gemini: { type: 'gemini', apiKey: 'g' },
      cohere: { type: 'cohere', apiKey: 'c' },
      voyage: { type: 'voyage', apiKey: 'v' },
      jina: { type: 'jina', apiKey: 'j' },
      deepseek: { type: 'deepseek', apiKey: 'd' },
      qwen: { type: 'qwen', apiKey: 'q' },
      mistral: { type: 'mistral', apiKey: 'm' },
      groq: { type: 'groq', apiKey: 'gr' },
      together: { type: 'together', apiKey: 't' },
      azure: { type: 'azure-openai', endpoint: 'https://res.openai.azure.com', apiKey: 'az' },
      ollama: { type: 'ollama', baseURL: 'http://ollama:11434', allowPrivateNetwork: true },
      tei: { type: 'tei', baseURL: 'http://tei:8080', allowPrivateNetwork: true },
      vllm: { type: 'vllm', baseURL: 'http://10.0.0.8:8000/v1', allowPrivateNetwork: true },
    });
    // Env-configured self-hosted servers on a private network build without further flags.
    expect(createModelRegistry(config).providers()).toHaveLength(13);
  });

  it('lets QUIRE_PROVIDERS_ALLOW_LOOPBACK name the env-configured providers that may use this host', () => {
    const env = { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://localhost:4000/v1', ANTHROPIC_API_KEY: 'a', ANTHROPIC_BASE_URL: 'http://127.0.0.1:4001/v1' };
    expect(registryError(() => createModelRegistry(providersFromEnv(env))).code).toBe('unsafe_base_url');
    const allowed = providersFromEnv({ ...env, QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai, anthropic' });
    expect(allowed.openai).toMatchObject({ allowLoopback: true });
    expect(createModelRegistry(allowed).providers()).toHaveLength(2);
    expect(() => providersFromEnv({ ...env, QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai,mistral' })).toThrow('"mistral", which is not a configured provider');
  });

  it('lets QUIRE_PROVIDERS_ALLOW_PRIVATE_NETWORK name the env-configured providers that may use a private-network host', () => {
    const env = { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://10.0.0.5:4000/v1', ANTHROPIC_API_KEY: 'a', ANTHROPIC_BASE_URL: 'http://127.0.0.1:4001/v1' };
    const refused = registryError(() => createModelRegistry(providersFromEnv({ ...env, ANTHROPIC_BASE_URL: undefined })));
    expect(refused.code).toBe('unsafe_base_url');
    // The remedy names both the JSON setting and the variable for providers configured by their variables.
    expect(refused.message).toContain('"allowPrivateNetwork": true');
    expect(refused.message).toContain('QUIRE_PROVIDERS_ALLOW_PRIVATE_NETWORK');
    const loopback = registryError(() => createModelRegistry(providersFromEnv({ ...env, OPENAI_BASE_URL: undefined })));
    expect(loopback.message).toContain('"allowLoopback": true');
    expect(loopback.message).toContain('QUIRE_PROVIDERS_ALLOW_LOOPBACK');
    const allowed = providersFromEnv({ ...env, QUIRE_PROVIDERS_ALLOW_PRIVATE_NETWORK: 'openai , anthropic' });
    expect(allowed.openai).toMatchObject({ allowPrivateNetwork: true });
    expect(allowed.anthropic).toMatchObject({ allowPrivateNetwork: true });
    expect(allowed.openai).not.toHaveProperty('allowLoopback');
    expect(createModelRegistry(allowed).providers()).toHaveLength(2);
    // Loopback alone does not admit a private address.
    expect(registryError(() => createModelRegistry(providersFromEnv({ ...env, QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai,anthropic' }))).code).toBe('unsafe_base_url');
    expect(() => providersFromEnv({ ...env, QUIRE_PROVIDERS_ALLOW_PRIVATE_NETWORK: 'openai,mistral' })).toThrow(
      'QUIRE_PROVIDERS_ALLOW_PRIVATE_NETWORK names "mistral", which is not a configured provider',
    );
  });

  it('needs both Azure variables, and names the missing ones when a provider is used', () => {
    expect(providersFromEnv({ AZURE_OPENAI_API_KEY: 'az' })).toEqual({});
    expect(providersFromEnv({ DASHSCOPE_API_KEY: 'q', DASHSCOPE_BASE_URL: 'https://dashscope.aliyuncs.com/compatible-mode/v1' }).qwen).toEqual({
      type: 'qwen',
      baseURL: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
      apiKey: 'q',
    });
    const registry = createModelRegistry({});
    expect(registryError(() => registry.generationModel('gemini/gemini-2.5-flash')).message).toContain('GEMINI_API_KEY');
    expect(registryError(() => registry.generationModel('azure/gpt-4o')).message).toContain('AZURE_OPENAI_ENDPOINT');
    expect(registryError(() => registry.embeddingModel('ollama/all-minilm')).message).toContain('set OLLAMA_BASE_URL,');
  });
});
