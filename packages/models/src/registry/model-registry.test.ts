import { startFakeAnthropic, startFakeOpenAI, type FakeAnthropic, type FakeOpenAI } from '@quire/fakes';
import { createModelRegistry, parseModelName } from './model-registry.js';
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

describe('parseModelName', () => {
  it('splits at the first slash only', () => {
    expect(parseModelName('openai/text-embedding-3-small')).toEqual({ provider: 'openai', modelId: 'text-embedding-3-small' });
    expect(parseModelName('together/meta-llama/Llama-3.1-8B')).toEqual({ provider: 'together', modelId: 'meta-llama/Llama-3.1-8B' });
  });
  it.each(['gpt-4o', '/gpt-4o', 'openai/', ''])('rejects %p', (name) => {
    expect(registryError(() => parseModelName(name)).code).toBe('invalid_model_name');
  });
});

describe('model registry', () => {
  let openai: FakeOpenAI;
  let anthropic: FakeAnthropic;
  beforeAll(async () => {
    openai = await startFakeOpenAI({ apiKey: 'sk-o' });
    anthropic = await startFakeAnthropic({ apiKey: 'sk-a' });
  });
  afterAll(async () => {
    await openai.close();
    await anthropic.close();
  });

  it('resolves models that reach the configured providers', async () => {
    const registry = createModelRegistry(
      providersFromEnv({ OPENAI_API_KEY: 'sk-o', OPENAI_BASE_URL: openai.url, ANTHROPIC_API_KEY: 'sk-a', ANTHROPIC_BASE_URL: anthropic.url, QUIRE_PROVIDERS_ALLOW_LOOPBACK: 'openai,anthropic' }),
    );
    expect(registry.providers()).toEqual([
      { name: 'anthropic', type: 'anthropic' },
      { name: 'openai', type: 'openai-compatible' },
    ]);
    const embedder = registry.embeddingModel('openai/text-embedding-3-small');
    expect(embedder).toMatchObject({ provider: 'openai', modelId: 'text-embedding-3-small' });
    expect((await embedder.doEmbed({ values: ['hello world'] })).embeddings[0]).toHaveLength(64);
    const chat = registry.generationModel('anthropic/claude-haiku-4-5');
    expect((await chat.doGenerate({ messages: [{ role: 'user', content: 'Hi' }] })).text).toContain('fake Anthropic');
  });

  it('passes model ids with slashes through to the provider', async () => {
    const registry = createModelRegistry({ local: { type: 'openai-compatible', baseURL: openai.url, apiKey: 'sk-o', allowLoopback: true } });
    await registry.generationModel('local/meta-llama/Llama-3.1-8B').doGenerate({ messages: [{ role: 'user', content: 'Hi' }] });
    expect(openai.requests.at(-1)?.body.model).toBe('meta-llama/Llama-3.1-8B');
  });

  it('throws typed errors for unknown, unconfigured and unsupported', () => {
    const registry = createModelRegistry({ local: { type: 'openai-compatible', baseURL: 'http://127.0.0.1:1/v1', allowLoopback: true }, claude: { type: 'anthropic' } });
    const unknown = registryError(() => registry.embeddingModel('acme/embed-v4.0'));
    expect(unknown.code).toBe('unknown_provider');
    expect(unknown.message).toContain('claude, local');
    const notConfigured = registryError(() => registry.generationModel('openai/gpt-4o'));
    expect(notConfigured.code).toBe('provider_not_configured');
    expect(notConfigured.message).toContain('OPENAI_API_KEY');
    expect(registryError(() => registry.generationModel('anthropic/claude-haiku-4-5')).message).toContain('ANTHROPIC_API_KEY');
    expect(registryError(() => registry.rerankingModel('local/rerank-v3.5')).code).toBe('model_capability_unsupported');
    expect(registryError(() => registry.embeddingModel('claude/claude-haiku-4-5')).code).toBe('model_capability_unsupported');
    expect(registryError(() => registry.embeddingModel('nope')).code).toBe('invalid_model_name');
  });

  it('validates the configuration', () => {
    expect(registryError(() => createModelRegistry({ x: { type: 'openai-compatible', baseURL: 'not a url' } } as never)).code).toBe('invalid_provider_config');
    expect(registryError(() => createModelRegistry({ x: { type: 'no-such-type' } } as never)).code).toBe('invalid_provider_config');
    expect(registryError(() => createModelRegistry({ x: { type: 'tei' } } as never)).code).toBe('invalid_provider_config');
  });
});

describe('providersFromEnv', () => {
  it('builds openai and anthropic from their variables, with defaults', () => {
    expect(providersFromEnv({ OPENAI_API_KEY: 'sk-1', ANTHROPIC_API_KEY: 'sk-2' })).toEqual({
      openai: { type: 'openai-compatible', baseURL: 'https://api.openai.com/v1', apiKey: 'sk-1' },
      anthropic: { type: 'anthropic', apiKey: 'sk-2' },
    });
    expect(providersFromEnv({})).toEqual({});
    expect(providersFromEnv({ OPENAI_API_KEY: '  ' })).toEqual({});
  });

  it('accepts a base URL without a key (local servers) and QUIRE_PROVIDERS_JSON for others', () => {
    const config = providersFromEnv({
      OPENAI_BASE_URL: 'http://localhost:11434/v1',
      QUIRE_PROVIDERS_JSON: JSON.stringify({ deepseek: { type: 'openai-compatible', baseURL: 'https://api.deepseek.com', apiKey: 'k' }, openai: { type: 'anthropic' } }),
    });
    expect(config.openai).toEqual({ type: 'openai-compatible', baseURL: 'http://localhost:11434/v1' });
    expect(config.deepseek).toEqual({ type: 'openai-compatible', baseURL: 'https://api.deepseek.com', apiKey: 'k' });
  });

  it('rejects malformed QUIRE_PROVIDERS_JSON', () => {
    expect(registryError(() => providersFromEnv({ QUIRE_PROVIDERS_JSON: '{' })).code).toBe('invalid_provider_config');
    expect(registryError(() => providersFromEnv({ QUIRE_PROVIDERS_JSON: '[]' })).code).toBe('invalid_provider_config');
    expect(registryError(() => providersFromEnv({ QUIRE_PROVIDERS_JSON: '{"a/b":{"type":"anthropic"}}' })).message).toContain('no slash');
  });
});
