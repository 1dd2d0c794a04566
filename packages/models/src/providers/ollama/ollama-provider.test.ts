import { countTokens, startFakeOllama, type FakeOllama } from '@quire/fakes';
import { createOllama } from './ollama-provider.js';
import { collect, caught, collectUntilError } from '../../testing/provider-test-helpers.js';

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Weather in Paris?' },
];

describe('Ollama native API against the fake', () => {
  let fake: FakeOllama;
  let mode: 'text' | 'tool' | 'thinking' = 'text';
  const ollama = () => createOllama({ baseURL: fake.url });

  beforeAll(async () => {
    fake = await startFakeOllama({
      reply: () => {
        if (mode === 'tool') return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
        if (mode === 'thinking') return { text: 'Sunny.', reasoning: 'Look outside.' };
        return 'It is 18 degrees.';
      },
    });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    mode = 'text';
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('generates with stream:false, options and usage from the final object', async () => {
    const result = await ollama().chatModel('llama3.2').doGenerate({ messages, maxOutputTokens: 30, temperature: 0.3, seed: 7, responseFormat: { type: 'json_object' } });
    expect(result).toMatchObject({ text: 'It is 18 degrees.', finishReason: 'stop', responseModelId: 'llama3.2' });
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: countTokens('It is 18 degrees.'), cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true });
    expect(fake.requests[0]?.path).toBe('/api/chat');
    expect(fake.requests[0]?.body).toEqual({ model: 'llama3.2', messages, stream: false, format: 'json', options: { num_predict: 30, temperature: 0.3, seed: 7 } });
  });

  it('streams NDJSON lines and finishes on done:true', async () => {
    const parts = await collect((await ollama().chatModel('llama3.2').doStream({ messages })).stream);
    expect(parts.filter((p) => p.type === 'text-delta').map((p) => (p.type === 'text-delta' ? p.text : '')).join('')).toBe('It is 18 degrees.');
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expect.objectContaining({ inputTokens: 7, outputTokens: 5, reported: true }) });
    expect(fake.requests[0]?.body.stream).toBe(true);
  });

  it('returns and streams tool calls with object arguments, and sends results back with tool_name', async () => {
    mode = 'tool';
    const model = ollama().chatModel('llama3.2');
    const result = await model.doGenerate({ messages, tools: [{ name: 'get_weather' }] });
    expect(result).toMatchObject({ finishReason: 'tool_calls', toolCalls: [{ id: 'call_0', name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    const parts = await collect((await model.doStream({ messages, tools: [{ name: 'get_weather' }] })).stream);
    expect(parts).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_0', name: 'get_weather', argumentsDelta: '{"city":"Paris"}' },
      { type: 'finish', finishReason: 'tool_calls', usage: expect.objectContaining({ reported: true }) },
    ]);
    mode = 'text';
    await model.doGenerate({
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
        { role: 'tool', toolCallId: 'c1', content: '{"tempC":18}' },
      ],
    });
    expect(fake.requests.at(-1)?.body.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', content: '{"tempC":18}', tool_name: 'get_weather' },
    ]);
  });

  it('surfaces thinking as reasoning', async () => {
    mode = 'thinking';
    expect(await ollama().chatModel('llama3.2').doGenerate({ messages })).toMatchObject({ text: 'Sunny.', reasoning: 'Look outside.' });
    const parts = await collect((await ollama().chatModel('llama3.2').doStream({ messages })).stream);
    expect(parts[0]).toEqual({ type: 'reasoning-delta', text: 'Look ' });
  });

  it('a missing prompt_eval_count (cached prompt) reads as 0 input tokens', async () => {
    const cached = await startFakeOllama({ omitPromptEvalCount: true });
    try {
      const result = await createOllama({ baseURL: cached.url }).chatModel('llama3.2').doGenerate({ messages });
      expect(result.usage).toMatchObject({ inputTokens: 0, outputTokens: 7, reported: true });
    } finally {
      await cached.close();
    }
  });

  it('embeds through /api/embed with prompt_eval_count as usage', async () => {
    const result = await ollama().embeddingModel('all-minilm').doEmbed({ values: ['hello world', 'x'], dimensions: 8 });
    expect(result.embeddings.map((e) => e.length)).toEqual([8, 8]);
    expect(result.usage).toMatchObject({ inputTokens: 3, reported: true });
    expect(fake.requests[0]?.body).toEqual({ model: 'all-minilm', input: ['hello world', 'x'], truncate: true, dimensions: 8 });
  });

  it.each([
    [400, 'provider_bad_request', false],
    [429, 'provider_rate_limited', true],
    [500, 'provider_server_error', true],
    [502, 'provider_server_error', true],
    [503, 'provider_overloaded', true],
  ])('maps HTTP %i to %s', async (status, code, retryable) => {
    fake.script.failNext(1, { status });
    expect(await caught(ollama().chatModel('llama3.2').doGenerate({ messages }))).toMatchObject({ code, retryable, status });
  });

  it('an unpulled model is model_not_found; a mid-stream error line is thrown; a stream cut before done:true is a network error', async () => {
    const missing = await caught(ollama().chatModel('qwen3').doGenerate({ messages }));
    expect(missing).toMatchObject({ code: 'provider_model_not_found' });
    expect(missing.message).toContain("model 'qwen3' not found");
    fake.script.streamErrorAfter(1, { message: 'model runner crashed' });
    const error = await caught(collect((await ollama().chatModel('llama3.2').doStream({ messages })).stream));
    expect(error).toMatchObject({ code: 'provider_server_error' });
    expect(error.message).toContain('model runner crashed');
    fake.script.cutStreamAfter(1, { mode: 'end' });
    const cut = await collectUntilError((await ollama().chatModel('llama3.2').doStream({ messages })).stream);
    expect(cut.parts).toEqual([{ type: 'text-delta', text: 'It ' }]);
    expect(cut.error).toMatchObject({ code: 'provider_network_error', retryable: true });
  });
});
