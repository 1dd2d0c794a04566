import { countTokens, openAIQuotaErrorBody, startFakeOpenAI, type FakeOpenAI } from '@quire/fakes';
import type { GenerationModelV1, StreamPartV1 } from '../../spec/generation/generation-model-v1.js';
import { normalizeOpenAIUsage } from './openai-compatible-chat-model.js';
import { createOpenAICompatible } from './openai-compatible-provider.js';
import { collect, caught, collectUntilError } from '../../testing/provider-test-helpers.js';

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Weather in Paris?' },
];

describe('OpenAI-compatible chat model against the fake', () => {
  let fake: FakeOpenAI;
  let replyMode: 'text' | 'tool' | 'usage' = 'text';
  let model: GenerationModelV1;

  beforeAll(async () => {
    fake = await startFakeOpenAI({
      apiKey: 'sk-test',
      reply: () => {
        if (replyMode === 'tool') {
          return {
            toolCalls: [
              { id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } },
              { id: 'call_2', name: 'get_time', arguments: { zone: 'Europe/Paris' } },
            ],
          };
        }
        if (replyMode === 'usage') return { text: 'Done thinking.', usage: { cachedTokens: 3, reasoningTokens: 7 } };
        return 'It is 18 degrees and sunny.';
      },
    });
    model = createOpenAICompatible({ name: 'openai', baseURL: fake.url, apiKey: 'sk-test', headers: { 'x-team': 'search' } }).chatModel('gpt-4o-mini');
  });
  afterAll(() => fake.close());
  afterEach(() => {
    replyMode = 'text';
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('generates text with usage, request id and the resolved model', async () => {
    const result = await model.doGenerate({ messages, maxOutputTokens: 50, temperature: 0.2, headers: { 'x-trace-id': 'trace-1' } });
    expect(result.text).toBe('It is 18 degrees and sunny.');
    expect(result.finishReason).toBe('stop');
    expect(result.toolCalls).toEqual([]);
    expect(result.requestId).toMatch(/^req_fake_/);
    expect(result.responseModelId).toBe('gpt-4o-mini');
    // "Be brief." = 3 tokens, "Weather in Paris?" = 4 tokens.
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: countTokens('It is 18 degrees and sunny.'), cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true });

    const [request] = fake.requests;
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBe('Bearer sk-test');
    expect(request?.headers['x-trace-id']).toBe('trace-1');
    expect(request?.headers['x-team']).toBe('search');
    expect(request?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris?' },
      ],
      max_completion_tokens: 50,
      temperature: 0.2,
    });
  });

  it('a call header cannot replace the provider key', async () => {
    await model.doGenerate({ messages, headers: { Authorization: 'Bearer stolen' } });
    expect(fake.requests[0]?.headers.authorization).toBe('Bearer sk-test');
  });

  it('streams text deltas that concatenate, then finish with usage', async () => {
    const { stream, requestId } = await model.doStream({ messages });
    const parts = await collect(stream);
    const deltas = parts.filter((p) => p.type === 'text-delta');
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.map((p) => (p.type === 'text-delta' ? p.text : '')).join('')).toBe('It is 18 degrees and sunny.');
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expect.objectContaining({ inputTokens: 7, outputTokens: 7, reported: true }) });
    expect(requestId).toMatch(/^req_fake_/);
    expect(fake.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('returns tool calls without streaming', async () => {
    replyMode = 'tool';
    const result = await model.doGenerate({
      messages,
      tools: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }, { name: 'get_time' }],
      toolChoice: { name: 'get_weather' },
    });
    expect(result.finishReason).toBe('tool_calls');
    expect(result.text).toBe('');
    expect(result.toolCalls).toEqual([
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_2', name: 'get_time', arguments: '{"zone":"Europe/Paris"}' },
    ]);
    const body = fake.requests[0]?.body;
    expect(body.tools[0]).toEqual({ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } });
    expect(body.tools[1].function.parameters).toEqual({ type: 'object', properties: {} });
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
  });

  it('streams tool-call deltas by index that reassemble into the arguments', async () => {
    replyMode = 'tool';
    const { stream } = await model.doStream({ messages, tools: [{ name: 'get_weather' }, { name: 'get_time' }] });
    const parts = await collect(stream);
    const calls = new Map<number, { id?: string; name?: string; args: string }>();
    for (const part of parts) {
      if (part.type !== 'tool-call-delta') continue;
      const call = calls.get(part.index) ?? { args: '' };
      call.id ??= part.id;
      call.name ??= part.name;
      call.args += part.argumentsDelta;
      calls.set(part.index, call);
    }
    expect(calls.get(0)).toEqual({ id: 'call_1', name: 'get_weather', args: '{"city":"Paris"}' });
    expect(calls.get(1)).toEqual({ id: 'call_2', name: 'get_time', args: '{"zone":"Europe/Paris"}' });
    expect(parts.filter((p) => p.type === 'tool-call-delta').length).toBeGreaterThan(4);
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('sends assistant tool calls and tool results back in OpenAI form', async () => {
    await model.doGenerate({
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Look' }, { type: 'image_url', url: 'https://x/y.png' }] },
        { role: 'assistant', content: null, toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
        { role: 'tool', toolCallId: 'call_1', content: '{"tempC":18}' },
      ],
    });
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Look' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"tempC":18}' },
    ]);
  });

  it("sends an image's detail when the caller gave one (OpenAI bills low detail far fewer tokens)", async () => {
    await model.doGenerate({
      messages: [{ role: 'user', content: [{ type: 'image_url', url: 'https://x/low.png', detail: 'low' }, { type: 'image_url', url: 'https://x/any.png' }] }],
    });
    expect(fake.requests[0]?.body.messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/low.png', detail: 'low' } }, { type: 'image_url', image_url: { url: 'https://x/any.png' } }] },
    ]);
  });

  it('normalises cached and reasoning tokens, streamed or not', async () => {
    replyMode = 'usage';
    const expected = { inputTokens: 7, outputTokens: 3 + 7, cachedInputTokens: 3, cacheWriteInputTokens: 0, reasoningTokens: 7, searchUnits: 0, reported: true };
    expect((await model.doGenerate({ messages })).usage).toEqual(expected);
    const parts = await collect((await model.doStream({ messages })).stream);
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expected });
  });

  it('a stream cut mid-way throws a retryable network error and never finishes', async () => {
    fake.script.cutStreamAfter(2);
    const { stream } = await model.doStream({ messages });
    const seen: StreamPartV1[] = [];
    const error = await caught(
      (async () => {
        for await (const part of stream) seen.push(part);
      })(),
    );
    expect(error.code).toBe('provider_network_error');
    expect(error.retryable).toBe(true);
    expect(seen.map((p) => p.type)).toEqual(['text-delta', 'text-delta']);
  });

  it('a stream whose body ends cleanly before [DONE] and any finish reason is a retryable network error', async () => {
    fake.script.cutStreamAfter(1, { mode: 'end' });
    const { parts, error } = await collectUntilError((await model.doStream({ messages })).stream);
    expect(parts).toEqual([{ type: 'text-delta', text: 'It ' }]);
    expect(error).toMatchObject({ code: 'provider_network_error', retryable: true });
    expect(error.message).toContain('before its final event');
  });

  it('a mid-stream error payload is thrown as a ProviderError', async () => {
    fake.script.streamErrorAfter(1, { type: 'server_error', message: 'boom' });
    const { stream } = await model.doStream({ messages });
    const error = await caught(collect(stream));
    expect(error.code).toBe('provider_server_error');
    expect(error.message).toContain('boom');
  });

  it.each([
    [400, 'provider_bad_request', false],
    [401, 'provider_auth_failed', false],
    [403, 'provider_permission_denied', false],
    [404, 'provider_model_not_found', false],
    [500, 'provider_server_error', true],
    [503, 'provider_overloaded', true],
  ])('maps HTTP %i to %s', async (status, code, retryable) => {
    fake.script.failNext(1, { status });
    const error = await caught(model.doGenerate({ messages }));
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(retryable);
    expect(error.requestId).toMatch(/^req_fake_/);
    expect(error.message).toContain(`HTTP ${status}`);
  });

  it('429 rate limit is retryable with retryAfterMs from retry-after', async () => {
    fake.script.failNext(1, { status: 429 });
    const error = await caught(model.doGenerate({ messages }));
    expect(error).toMatchObject({ code: 'provider_rate_limited', retryable: true, retryAfterMs: 1000 });
    expect(error.message).toContain('Rate limit reached for gpt-4o-mini');
  });

  it('429 insufficient_quota is a non-retryable quota error', async () => {
    fake.script.failNext(1, { status: 429, body: openAIQuotaErrorBody() });
    const error = await caught(model.doGenerate({ messages }));
    expect(error).toMatchObject({ code: 'provider_quota_exceeded', retryable: false, retryAfterMs: undefined });
  });

  it('a wrong key gets the fake 401 mapped to provider_auth_failed', async () => {
    const bad = createOpenAICompatible({ name: 'openai', baseURL: fake.url, apiKey: 'sk-wrong' }).chatModel('gpt-4o-mini');
    const error = await caught(bad.doGenerate({ messages }));
    expect(error.code).toBe('provider_auth_failed');
    expect(error.message).toContain('Incorrect API key');
  });

  it('a dropped connection and a closed port are network errors', async () => {
    fake.script.failNext(1, { drop: true });
    expect((await caught(model.doGenerate({ messages }))).code).toBe('provider_network_error');

    const closed = await startFakeOpenAI();
    const url = closed.url;
    await closed.close();
    const offline = createOpenAICompatible({ name: 'local', baseURL: url }).chatModel('m');
    const error = await caught(offline.doGenerate({ messages }));
    expect(error).toMatchObject({ code: 'provider_network_error', retryable: true, status: 0, provider: 'local' });
  });

  it('uses max_tokens for providers other than openai', async () => {
    const local = createOpenAICompatible({ name: 'vllm', baseURL: fake.url, apiKey: 'sk-test' }).chatModel('llama');
    await local.doGenerate({ messages, maxOutputTokens: 10, responseFormat: { type: 'json_object' } });
    expect(fake.requests[0]?.body).toMatchObject({ max_tokens: 10, response_format: { type: 'json_object' } });
    expect(fake.requests[0]?.body.max_completion_tokens).toBeUndefined();
  });

  it('a stream without a usage chunk finishes with usage.reported = false', async () => {
    // A server that ignores stream_options sends no usage chunk; simulate it by dropping the option.
    const stripUsage: typeof fetch = (input, init) => {
      const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
      delete body.stream_options;
      return fetch(input, { ...init, body: JSON.stringify(body) });
    };
    const noUsage = createOpenAICompatible({ name: 'openai', baseURL: fake.url, apiKey: 'sk-test', fetch: stripUsage }).chatModel('gpt-4o-mini');
    const parts = await collect((await noUsage.doStream({ messages })).stream);
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expect.objectContaining({ reported: false, inputTokens: 0 }) });
  });
});

describe('normalizeOpenAIUsage', () => {
  it('reads DeepSeek cache hits and tolerates nulls', () => {
    expect(
      normalizeOpenAIUsage({ prompt_tokens: 100, completion_tokens: 20, prompt_cache_hit_tokens: 60, prompt_cache_miss_tokens: 40, completion_tokens_details: { reasoning_tokens: 5 } }),
    ).toEqual({ inputTokens: 100, outputTokens: 20, cachedInputTokens: 60, cacheWriteInputTokens: 0, reasoningTokens: 5, searchUnits: 0, reported: true });
    expect(normalizeOpenAIUsage({ prompt_tokens: 9, completion_tokens: null, prompt_tokens_details: null })).toMatchObject({ inputTokens: 9, outputTokens: 0, cachedInputTokens: 0 });
    expect(normalizeOpenAIUsage(null).reported).toBe(false);
  });
});
