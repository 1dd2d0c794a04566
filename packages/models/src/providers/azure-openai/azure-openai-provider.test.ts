import { countTokens, startFakeAzureOpenAI, type FakeAzureOpenAI } from '@quire/fakes';
import { createAzureOpenAI } from './azure-openai-provider.js';
import { collect, caught } from '../../testing/provider-test-helpers.js';

const messages = [{ role: 'user' as const, content: 'Weather in Paris?' }];

describe('Azure OpenAI against the fake', () => {
  let fake: FakeAzureOpenAI;
  let mode: 'text' | 'tool' | 'usage' = 'text';
  const azure = () => createAzureOpenAI({ endpoint: fake.origin, apiKey: 'az-key' });

  beforeAll(async () => {
    fake = await startFakeAzureOpenAI({
      apiKey: 'az-key',
      reply: () => {
        if (mode === 'tool') return { toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] };
        if (mode === 'usage') return { text: 'Done.', usage: { cachedTokens: 2, reasoningTokens: 5 } };
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

  it('posts to the deployment URL with api-version and the api-key header', async () => {
    const result = await azure().chatModel('gpt-4o-mini').doGenerate({ messages, maxOutputTokens: 20 });
    expect(result).toMatchObject({ text: 'It is sunny.', finishReason: 'stop', responseModelId: 'gpt-4o-mini-2024-07-18' });
    expect(result.requestId).toMatch(/^0{8}-/);
    expect(result.usage).toMatchObject({ inputTokens: 4, outputTokens: countTokens('It is sunny.'), reported: true });
    const [request] = fake.requests;
    expect(request?.url).toBe('/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21');
    expect(request?.headers['api-key']).toBe('az-key');
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.body).toMatchObject({ max_completion_tokens: 20 });
  });

  it('streams past the metadata chunk and filter-only chunks', async () => {
    const parts = await collect((await azure().chatModel('gpt-4o-mini').doStream({ messages })).stream);
    const text = parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');
    expect(text).toBe('It is sunny.');
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expect.objectContaining({ inputTokens: 4, reported: true }) });
  });

  it('returns and streams tool calls', async () => {
    mode = 'tool';
    const model = azure().chatModel('gpt-4o-mini');
    const result = await model.doGenerate({ messages, tools: [{ name: 'get_weather' }] });
    expect(result.toolCalls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    expect(result.finishReason).toBe('tool_calls');
    const parts = await collect((await model.doStream({ messages, tools: [{ name: 'get_weather' }] })).stream);
    const args = parts.map((p) => (p.type === 'tool-call-delta' ? p.argumentsDelta : '')).join('');
    expect(args).toBe('{"city":"Paris"}');
    expect(parts.at(-1)).toMatchObject({ finishReason: 'tool_calls' });
  });

  it('normalises cached and reasoning tokens', async () => {
    mode = 'usage';
    const result = await azure().chatModel('gpt-4o-mini').doGenerate({ messages });
    expect(result.usage).toEqual({ inputTokens: 4, outputTokens: 2 + 5, cachedInputTokens: 2, cacheWriteInputTokens: 0, reasoningTokens: 5, searchUnits: 0, reported: true });
  });

  it('embeds through the embeddings deployment', async () => {
    const result = await azure().embeddingModel('text-embedding-3-small').doEmbed({ values: ['a b', 'c'] });
    expect(result.embeddings).toHaveLength(2);
    expect(result.usage).toMatchObject({ inputTokens: 3, reported: true });
    expect(fake.requests[0]?.url).toBe('/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21');
  });

  it('supports the v1 form with the deployment in the body', async () => {
    const v1 = createAzureOpenAI({ endpoint: fake.origin, apiKey: 'az-key', apiVersion: 'v1' });
    await caught(v1.chatModel('gpt-4o-mini').doGenerate({ messages }));
    expect(fake.requests[0]?.url).toBe('/openai/v1/chat/completions');
    expect(fake.requests[0]?.body.model).toBe('gpt-4o-mini');
  });

  it.each([
    [401, 'provider_auth_failed', false],
    [404, 'provider_model_not_found', false],
    [500, 'provider_server_error', true],
    [503, 'provider_overloaded', true],
  ])('maps HTTP %i to %s', async (status, code, retryable) => {
    fake.script.failNext(1, { status });
    expect(await caught(azure().chatModel('gpt-4o-mini').doGenerate({ messages }))).toMatchObject({ code, retryable, status });
  });

  it('429 carries retry-after-ms as the retry hint', async () => {
    fake.script.failNext(1, { status: 429 });
    const error = await caught(azure().chatModel('gpt-4o-mini').doGenerate({ messages }));
    expect(error).toMatchObject({ code: 'provider_rate_limited', retryable: true, retryAfterMs: 6000 });
    expect(error.message).toContain('exceeded token rate limit');
  });

  it('an unknown deployment and a wrong key are mapped', async () => {
    expect((await caught(azure().chatModel('nope').doGenerate({ messages }))).message).toContain('DeploymentNotFound');
    const bad = createAzureOpenAI({ endpoint: fake.origin, apiKey: 'wrong' });
    expect((await caught(bad.chatModel('gpt-4o-mini').doGenerate({ messages }))).code).toBe('provider_auth_failed');
  });
});
