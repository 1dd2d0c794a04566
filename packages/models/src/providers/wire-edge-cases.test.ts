import { ProviderError } from '../errors/provider-error.js';
import { createAnthropic } from './anthropic/anthropic-provider.js';
import { createOpenAICompatible } from './openai-compatible/openai-compatible-provider.js';
import { collect } from '../testing/provider-test-helpers.js';

/** A fetch that answers every call with this SSE text, for wire shapes the fakes do not produce. */
function sseFetch(body: string, headers: Record<string, string> = {}): typeof fetch {
  return async () => new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream', ...headers } });
}

const messages = [{ role: 'user' as const, content: 'hi' }];

describe('OpenAI-compatible stream edge cases', () => {
  it('handles keep-alive comments, CRLF, null choices on the usage chunk, Groq x_groq usage and reasoning_content', async () => {
    const body = [
      ': keep-alive',
      '',
      'data:{"id":"c","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Think."},"finish_reason":null}]}',
      '',
      'data: {"id":"c","choices":[{"index":0,"content_filter_results":{}}]}',
      '',
      'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Answer"},"finish_reason":"length"}]}',
      '',
      'data: {"id":"c","choices":null,"usage":{"prompt_tokens":10,"completion_tokens":4,"prompt_cache_hit_tokens":6,"completion_tokens_details":{"reasoning_tokens":2}}}',
      '',
      'data: [DONE]',
      '',
      '',
    ].join('\r\n');
    const model = createOpenAICompatible({ name: 'deepseek', baseURL: 'http://unused/v1', fetch: sseFetch(body, { 'x-request-id': 'r-1' }) }).chatModel('deepseek-reasoner');
    const result = await model.doStream({ messages });
    const parts = await collect(result.stream);
    expect(parts).toEqual([
      { type: 'reasoning-delta', text: 'Think.' },
      { type: 'text-delta', text: 'Answer' },
      { type: 'finish', finishReason: 'length', usage: { inputTokens: 10, outputTokens: 4, cachedInputTokens: 6, cacheWriteInputTokens: 0, reasoningTokens: 2, searchUnits: 0, reported: true } },
    ]);
    expect(result.requestId).toBe('r-1');
    expect(result.responseModelId).toBe('deepseek-reasoner');
  });

  it('reads usage from x_groq on the final chunk', async () => {
    const body =
      'data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}],"x_groq":{"usage":{"prompt_tokens":3,"completion_tokens":1}}}\n\ndata: [DONE]\n\n';
    const model = createOpenAICompatible({ name: 'groq', baseURL: 'http://unused/v1', fetch: sseFetch(body) }).chatModel('llama');
    const parts = await collect((await model.doStream({ messages })).stream);
    expect(parts.at(-1)).toMatchObject({ type: 'finish', usage: { inputTokens: 3, outputTokens: 1, reported: true } });
  });

  it('treats a malformed event as a bad response', async () => {
    const model = createOpenAICompatible({ name: 'x', baseURL: 'http://unused/v1', fetch: sseFetch('data: {not json}\n\n') }).chatModel('m');
    const error = await collect((await model.doStream({ messages })).stream).catch((e: unknown) => e);
    expect(ProviderError.is(error) && error.code).toBe('provider_bad_response');
  });
});

describe('Anthropic stream edge cases', () => {
  it('lets message_delta usage overwrite message_start usage, ignoring nulls and unknown events', async () => {
    const event = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
    const body = [
      event('message_start', { message: { model: 'claude-x', usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 } } }),
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
      event('content_block_delta', { index: 0, delta: { type: 'citations_delta', citation: {} } }),
      event('brand_new_event', { foo: 1 }),
      event('content_block_stop', { index: 0 }),
      event('message_delta', { delta: { stop_reason: 'refusal' }, usage: { output_tokens: 12, input_tokens: 11, cache_read_input_tokens: null } }),
      event('message_stop', {}),
    ].join('');
    const model = createAnthropic({ apiKey: 'k', fetch: sseFetch(body, { 'request-id': 'req_9' }) }).chatModel('claude-x');
    const result = await model.doStream({ messages });
    const parts = await collect(result.stream);
    expect(parts).toEqual([
      { type: 'text-delta', text: 'Hi' },
      { type: 'finish', finishReason: 'content_filter', usage: { inputTokens: 111, outputTokens: 12, cachedInputTokens: 100, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true } },
    ]);
    expect(result.requestId).toBe('req_9');
    expect(result.responseModelId).toBe('claude-x');
  });
});
