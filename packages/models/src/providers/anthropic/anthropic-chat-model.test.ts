import { anthropicErrorBody, countTokens, startFakeAnthropic, type FakeAnthropic, type FakeReply } from '@quire/fakes';
import type { GenerationModelV1, StreamPartV1 } from '../../spec/generation/generation-model-v1.js';
import { mapAnthropicStopReason, normalizeAnthropicUsage } from './anthropic-chat-model.js';
import { createAnthropic } from './anthropic-provider.js';
import { collect, caught, collectUntilError } from '../../testing/provider-test-helpers.js';

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Weather in Paris?' },
];

describe('Anthropic chat model against the fake', () => {
  let fake: FakeAnthropic;
  let next: FakeReply | undefined;
  let model: GenerationModelV1;

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: 'sk-ant-test', reply: () => next ?? 'It is 18 degrees.' });
    model = createAnthropic({ baseURL: fake.url, apiKey: 'sk-ant-test', headers: { 'x-trace-id': 'trace-7' } }).chatModel('claude-haiku-4-5');
  });
  afterAll(() => fake.close());
  afterEach(() => {
    next = undefined;
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('generates text, sends the Messages API shape and the required headers', async () => {
    const result = await model.doGenerate({ messages, stop: ['END'], temperature: 0.1 });
    expect(result.text).toBe('It is 18 degrees.');
    expect(result.finishReason).toBe('stop');
    expect(result.requestId).toMatch(/^req_fake/);
    expect(result.responseModelId).toBe('claude-haiku-4-5');
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: countTokens('It is 18 degrees.'), cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true });
    const request = fake.requests[0]!;
    expect(request.path).toBe('/v1/messages');
    expect(request.headers['x-api-key']).toBe('sk-ant-test');
    expect(request.headers['anthropic-version']).toBe('2023-06-01');
    expect(request.headers['x-trace-id']).toBe('trace-7');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toEqual({
      model: 'claude-haiku-4-5',
      max_tokens: 4096,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] }],
      temperature: 0.1,
      stop_sequences: ['END'],
    });
  });

  it('translates a tool loop: tool_use blocks, merged tool_result turns, tools and tool_choice', async () => {
    await model.doGenerate({
      maxOutputTokens: 300,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather and time in Paris?' },
        {
          role: 'assistant',
          content: 'Checking.',
          toolCalls: [
            { id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
            { id: 'toolu_2', name: 'get_time', arguments: '' },
          ],
        },
        { role: 'tool', toolCallId: 'toolu_1', content: '18C' },
        { role: 'tool', toolCallId: 'toolu_2', content: '14:00' },
        { role: 'user', content: [{ type: 'image_url', url: 'data:image/png;base64,AAAA' }] },
        { role: 'system', content: 'Answer in French.' },
      ],
      tools: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }, { name: 'get_time' }],
      toolChoice: 'required',
    });
    const body = fake.requests[0]!.body;
    expect(body.max_tokens).toBe(300);
    expect(body.system).toBe('Be brief.\n\nAnswer in French.');
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather and time in Paris?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '18C' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: '14:00' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
        ],
      },
    ]);
    expect(body.tools).toEqual([
      { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { name: 'get_time', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(body.tool_choice).toEqual({ type: 'any' });
  });

  it('returns tool calls and reasoning without streaming', async () => {
    next = { reasoning: 'The user wants weather.', toolCalls: [{ id: 'toolu_9', name: 'get_weather', arguments: { city: 'Paris' } }] };
    const result = await model.doGenerate({ messages, tools: [{ name: 'get_weather' }], toolChoice: { name: 'get_weather' } });
    expect(result.finishReason).toBe('tool_calls');
    expect(result.toolCalls).toEqual([{ id: 'toolu_9', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    expect(result.reasoning).toBe('The user wants weather.');
    expect(fake.requests[0]!.body.tool_choice).toEqual({ type: 'tool', name: 'get_weather' });
  });

  it('streams text deltas and finishes with the final cumulative usage', async () => {
    const { stream, requestId } = await model.doStream({ messages });
    const parts = await collect(stream);
    const text = parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');
    expect(text).toBe('It is 18 degrees.');
    expect(parts.filter((p) => p.type === 'text-delta').length).toBeGreaterThan(2);
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expect.objectContaining({ inputTokens: 7, outputTokens: 5, reported: true }) });
    expect(requestId).toMatch(/^req_fake/);
    expect(fake.requests[0]!.body.stream).toBe(true);
  });

  it('streams tool_use as tool-call deltas (input_json_delta) and thinking as reasoning', async () => {
    next = { text: 'Let me check.', reasoning: 'Need the tool.', toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris', unit: 'C' } }] };
    const parts = await collect((await model.doStream({ messages, tools: [{ name: 'get_weather' }] })).stream);
    expect(parts.filter((p) => p.type === 'reasoning-delta').map((p) => (p.type === 'reasoning-delta' ? p.text : '')).join('')).toBe('Need the tool.');
    const toolParts = parts.filter((p): p is Extract<StreamPartV1, { type: 'tool-call-delta' }> => p.type === 'tool-call-delta');
    expect(toolParts[0]).toEqual({ type: 'tool-call-delta', index: 0, id: 'toolu_1', name: 'get_weather', argumentsDelta: '' });
    expect(toolParts.every((p) => p.index === 0)).toBe(true);
    expect(JSON.parse(toolParts.map((p) => p.argumentsDelta).join(''))).toEqual({ city: 'Paris', unit: 'C' });
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('counts cache reads and writes inside inputTokens', async () => {
    next = { text: 'Cached answer.', usage: { cachedTokens: 3, cacheWriteTokens: 2 } };
    const expected = { inputTokens: 7, outputTokens: 3, cachedInputTokens: 3, cacheWriteInputTokens: 2, reasoningTokens: 0, searchUnits: 0, reported: true };
    expect((await model.doGenerate({ messages })).usage).toEqual(expected);
    next = { text: 'Cached answer.', usage: { cachedTokens: 3, cacheWriteTokens: 2 } };
    expect((await collect((await model.doStream({ messages })).stream)).at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expected });
  });

  it('maps stop reasons', async () => {
    next = { text: 'cut', finishReason: 'max_tokens' };
    expect((await model.doGenerate({ messages })).finishReason).toBe('length');
    expect(mapAnthropicStopReason('refusal')).toBe('content_filter');
    expect(mapAnthropicStopReason('stop_sequence')).toBe('stop');
    expect(mapAnthropicStopReason('pause_turn')).toBe('other');
  });

  it('an error event mid-stream is thrown as a ProviderError', async () => {
    fake.script.streamErrorAfter(1, { type: 'overloaded_error', message: 'Overloaded' });
    const error = await caught(collect((await model.doStream({ messages })).stream));
    expect(error).toMatchObject({ code: 'provider_overloaded', retryable: true, status: 529 });
    expect(error.message).toContain('Overloaded');
  });

  it('a cut stream, reset or cleanly ended before message_stop and any stop reason, throws a retryable network error', async () => {
    fake.script.cutStreamAfter(1);
    expect((await caught(collect((await model.doStream({ messages })).stream))).code).toBe('provider_network_error');
    fake.script.cutStreamAfter(2, { mode: 'end' });
    const { parts, error } = await collectUntilError((await model.doStream({ messages })).stream);
    expect(parts.map((p) => p.type)).toEqual(['text-delta', 'text-delta']);
    expect(error).toMatchObject({ code: 'provider_network_error', retryable: true });
  });

  it.each([
    [400, 'provider_bad_request', false],
    [401, 'provider_auth_failed', false],
    [402, 'provider_quota_exceeded', false],
    [404, 'provider_model_not_found', false],
    [500, 'provider_server_error', true],
    [529, 'provider_overloaded', true],
  ])('maps HTTP %i to %s', async (status, code, retryable) => {
    fake.script.failNext(1, { status });
    const error = await caught(model.doGenerate({ messages }));
    expect(error).toMatchObject({ code, status, retryable });
    expect(error.requestId).toMatch(/^req_fake/);
  });

  it('429 rate_limit_error carries retry-after; the spend-limit variant does not retry', async () => {
    fake.script.failNext(1, { status: 429 });
    expect(await caught(model.doGenerate({ messages }))).toMatchObject({ code: 'provider_rate_limited', retryable: true, retryAfterMs: 1000 });
    const body = anthropicErrorBody(429);
    fake.script.failNext(1, { status: 429, body: { ...body, error: { ...body.error, details: { error_code: 'enforced_spend_limit_reached' } } } });
    expect(await caught(model.doGenerate({ messages }))).toMatchObject({ code: 'provider_quota_exceeded', retryable: false });
  });

  it('a wrong key is an auth error, and a closed port is a network error', async () => {
    const bad = createAnthropic({ baseURL: fake.url, apiKey: 'nope' }).chatModel('claude-haiku-4-5');
    const error = await caught(bad.doGenerate({ messages }));
    expect(error.code).toBe('provider_auth_failed');
    expect(error.message).toContain('invalid x-api-key');
    const closed = await startFakeAnthropic();
    await closed.close();
    const offline = createAnthropic({ baseURL: closed.url, apiKey: 'k' }).chatModel('claude-haiku-4-5');
    expect(await caught(offline.doGenerate({ messages }))).toMatchObject({ code: 'provider_network_error', retryable: true });
  });
});

describe('normalizeAnthropicUsage', () => {
  it('adds cache tokens to input and tolerates nulls', () => {
    expect(normalizeAnthropicUsage({ input_tokens: 412, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 1024 })).toEqual({
      inputTokens: 1436,
      outputTokens: 9,
      cachedInputTokens: 1024,
      cacheWriteInputTokens: 0,
      reasoningTokens: 0,
      searchUnits: 0,
      reported: true,
    });
    expect(normalizeAnthropicUsage({ input_tokens: 5, output_tokens: null, cache_read_input_tokens: null })).toMatchObject({ inputTokens: 5, outputTokens: 0 });
    expect(normalizeAnthropicUsage(undefined).reported).toBe(false);
  });
});
