import { countTokens, startFakeOpenAIDialect, type FakeOpenAIDialect, type OpenAIDialect } from '@quire/fakes';
import { createOpenAICompatiblePreset, OPENAI_COMPATIBLE_PRESETS } from './openai-compatible-presets.js';
import { collect, caught } from '../../testing/provider-test-helpers.js';

const messages = [{ role: 'user' as const, content: 'Weather in Paris?' }];
const dialects: OpenAIDialect[] = ['deepseek', 'qwen', 'mistral', 'groq', 'together', 'vllm'];

describe.each(dialects)('%s preset against its fake dialect', (dialect) => {
  let fake: FakeOpenAIDialect;
  let mode: 'text' | 'tool' | 'reasoning' = 'text';
  const model = () => createOpenAICompatiblePreset(dialect, { baseURL: fake.url, apiKey: 'k' }).chatModel('m');

  beforeAll(async () => {
    fake = await startFakeOpenAIDialect({
      dialect,
      apiKey: 'k',
      reply: () => {
        if (mode === 'tool') return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
        if (mode === 'reasoning') return { text: 'Sunny.', reasoning: 'Think first.', usage: { cachedTokens: 2 } };
        return 'It is sunny.';
      },
    });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    mode = 'text';
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('generates and streams with final usage from wherever the vendor puts it', async () => {
    const result = await model().doGenerate({ messages, seed: 3 });
    expect(result).toMatchObject({ text: 'It is sunny.', finishReason: 'stop', usage: { inputTokens: 4, outputTokens: countTokens('It is sunny.'), reported: true } });
    const parts = await collect((await model().doStream({ messages })).stream);
    expect(parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('')).toBe('It is sunny.');
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expect.objectContaining({ inputTokens: 4, outputTokens: 4, reported: true }) });
  });

  it('streams tool calls', async () => {
    mode = 'tool';
    const parts = await collect((await model().doStream({ messages, tools: [{ name: 'get_weather' }] })).stream);
    expect(parts.map((p) => (p.type === 'tool-call-delta' ? p.argumentsDelta : '')).join('')).toBe('{"city":"Paris"}');
    expect(parts.at(-1)).toMatchObject({ finishReason: 'tool_calls' });
  });

  it('normalises reasoning text, reasoning tokens and cache hits', async () => {
    mode = 'reasoning';
    const expected = { inputTokens: 4, outputTokens: 2 + 3, cachedInputTokens: 2, cacheWriteInputTokens: 0, reasoningTokens: 3, searchUnits: 0, reported: true };
    expect(await model().doGenerate({ messages })).toMatchObject({ text: 'Sunny.', reasoning: 'Think first.', usage: expected });
    const parts = await collect((await model().doStream({ messages })).stream);
    expect(parts.filter((p) => p.type === 'reasoning-delta').map((p) => (p.type === 'reasoning-delta' ? p.text : '')).join('')).toBe('Think first.');
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expected });
  });

  it.each([
    [401, 'provider_auth_failed', false],
    [404, 'provider_model_not_found', false],
    [429, 'provider_rate_limited', true],
    [500, 'provider_server_error', true],
    [503, 'provider_overloaded', true],
  ])('maps HTTP %i to %s', async (status, code, retryable) => {
    fake.script.failNext(1, { status });
    expect(await caught(model().doGenerate({ messages }))).toMatchObject({ code, retryable, status, provider: dialect });
  });
});

describe('preset specifics', () => {
  it('Mistral sends random_seed and no stream_options; others keep the OpenAI fields', async () => {
    const fake = await startFakeOpenAIDialect({ dialect: 'mistral' });
    try {
      const mistral = createOpenAICompatiblePreset('mistral', { baseURL: fake.url }).chatModel('mistral-small-latest');
      await mistral.doGenerate({ messages, seed: 5, maxOutputTokens: 9 });
      await collect((await mistral.doStream({ messages })).stream);
      expect(fake.requests[0]?.body).toMatchObject({ random_seed: 5, max_tokens: 9 });
      expect(fake.requests[0]?.body.seed).toBeUndefined();
      expect(fake.requests[1]?.body.stream_options).toBeUndefined();
    } finally {
      await fake.close();
    }
  });

  it('DeepSeek 402 (balance) is a non-retryable quota error; 429 retry hints pass through (Groq)', async () => {
    const deepseek = await startFakeOpenAIDialect({ dialect: 'deepseek' });
    const groq = await startFakeOpenAIDialect({ dialect: 'groq' });
    try {
      deepseek.script.failNext(1, { status: 402 });
      const balance = await caught(createOpenAICompatiblePreset('deepseek', { baseURL: deepseek.url }).chatModel('deepseek-chat').doGenerate({ messages }));
      expect(balance).toMatchObject({ code: 'provider_quota_exceeded', retryable: false });
      expect(balance.message).toContain('Insufficient Balance');
      groq.script.failNext(1, { status: 429 });
      expect(await caught(createOpenAICompatiblePreset('groq', { baseURL: groq.url }).chatModel('llama-3.1-8b-instant').doGenerate({ messages }))).toMatchObject({ retryAfterMs: 2000 });
    } finally {
      await deepseek.close();
      await groq.close();
    }
  });

  it('has a default base URL and key variable for every preset', () => {
    for (const preset of Object.values(OPENAI_COMPATIBLE_PRESETS)) {
      expect(() => new URL(preset.baseURL)).not.toThrow();
      expect(preset.apiKeyEnv).toMatch(/^[A-Z_]+_API_KEY$/);
    }
    expect(OPENAI_COMPATIBLE_PRESETS.vllm.selfHosted).toBe(true);
  });
});
