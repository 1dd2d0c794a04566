import type { GenerateResultV1 } from '@quire/models';
import { emptyUsage } from '@quire/models';
import { completionToOpenAI, toGenerateOptions, toolCallDeltaToOpenAI } from './translate.js';
import { ChatCompletionBodySchema } from './validators.js';

const signature = { google: { thoughtSignature: 'c2ln' } };

describe('thought signatures in the OpenAI format (extra_content.google.thought_signature)', () => {
  it('a request carries them from tool calls and the assistant message into the spec; other vendors’ keys are dropped', () => {
    const body = ChatCompletionBodySchema.parse({
      model: 'gemini/gemini-3-pro-preview',
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: 'Checking.',
          extra_content: { google: { thought_signature: 'dGV4dA==' } },
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' }, extra_content: { google: { thought_signature: 'c2ln' }, other: { x: 1 } } },
            { id: 'c2', type: 'function', function: { name: 'get_time', arguments: '{}' }, extra_content: null },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: '{}' },
      ],
    });
    expect(toGenerateOptions(body).messages[1]).toEqual({
      role: 'assistant',
      content: 'Checking.',
      providerMetadata: { google: { thoughtSignature: 'dGV4dA==' } },
      toolCalls: [
        { id: 'c1', name: 'get_weather', arguments: '{}', providerMetadata: signature },
        { id: 'c2', name: 'get_time', arguments: '{}' },
      ],
    });
    expect(() => ChatCompletionBodySchema.parse({ model: 'a/b', messages: [{ role: 'assistant', content: null, extra_content: { google: { thought_signature: 7 } } }] })).toThrow();
  });

  it('a completion puts them back on the tool call and the message, and leaves unsigned output as it was', () => {
    const result: GenerateResultV1 = {
      text: '',
      toolCalls: [
        { id: 'c1', name: 'get_weather', arguments: '{}', providerMetadata: signature },
        { id: 'c2', name: 'get_time', arguments: '{}' },
      ],
      finishReason: 'tool_calls',
      usage: emptyUsage(true),
    };
    const message = completionToOpenAI('id', 'gemini/gemini-3-pro-preview', 0, result).choices[0]!.message;
    expect(message.tool_calls).toEqual([
      { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' }, extra_content: { google: { thought_signature: 'c2ln' } } },
      { id: 'c2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ]);
    expect(message).not.toHaveProperty('extra_content');
    const text = completionToOpenAI('id', 'm', 0, { ...result, text: 'Hi.', toolCalls: [], providerMetadata: { google: { thoughtSignature: 'dGV4dA==' } } }).choices[0]!.message;
    expect(text).toMatchObject({ content: 'Hi.', extra_content: { google: { thought_signature: 'dGV4dA==' } } });
  });

  it('a streamed tool-call delta carries it on the fragment that opens the call', () => {
    expect(toolCallDeltaToOpenAI({ type: 'tool-call-delta', index: 0, id: 'c1', name: 'get_weather', argumentsDelta: '{}', providerMetadata: signature })).toEqual({
      index: 0, id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' }, extra_content: { google: { thought_signature: 'c2ln' } },
    });
    expect(toolCallDeltaToOpenAI({ type: 'tool-call-delta', index: 1, argumentsDelta: '"x"' })).toEqual({ index: 1, function: { arguments: '"x"' } });
  });
});

describe('chat fields into the spec', () => {
  const base = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

  it('carries strict, parallel_tool_calls false, penalties, logit bias, reasoning effort and verbosity', () => {
    const body = ChatCompletionBodySchema.parse({
      ...base,
      tools: [{ type: 'function', function: { name: 'f', description: null, parameters: { type: 'object' }, strict: true } }],
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' }, strict: false } },
      presence_penalty: -1, frequency_penalty: 2, logit_bias: { '42': 10 }, reasoning_effort: 'high', verbosity: 'medium',
    });
    expect(toGenerateOptions(body)).toEqual({
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ name: 'f', parameters: { type: 'object' }, strict: true }],
      parallelToolCalls: false,
      responseFormat: { type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: false },
      presencePenalty: -1, frequencyPenalty: 2, logitBias: { '42': 10 }, reasoningEffort: 'high', verbosity: 'medium',
    });
  });

  it('leaves out the defaults and nulls: parallel_tool_calls true, empty logit bias, null fields', () => {
    const body = ChatCompletionBodySchema.parse({ ...base, parallel_tool_calls: true, logit_bias: {}, tools: null, tool_choice: null, response_format: null, user: null });
    expect(toGenerateOptions(body)).toEqual({ messages: [{ role: 'user', content: 'hi' }] });
  });

  it("an assistant's refusal part is its text; a malformed part of a known type is still refused", () => {
    const body = ChatCompletionBodySchema.parse({
      ...base,
      messages: [{ role: 'user', content: 'Help?' }, { role: 'assistant', content: [{ type: 'text', text: 'Sorry: ' }, { type: 'refusal', refusal: 'not that.' }] }, { role: 'user', content: 'ok' }],
    });
    expect(toGenerateOptions(body).messages[1]).toEqual({ role: 'assistant', content: 'Sorry: not that.' });
    for (const content of [[{ type: 'text' }], [{ type: 'image_url', image_url: {} }], ['text'], [{}]]) {
      expect(ChatCompletionBodySchema.safeParse({ ...base, messages: [{ role: 'user', content }] }).success).toBe(false);
    }
    expect(ChatCompletionBodySchema.safeParse({ ...base, messages: [{ role: 'assistant', content: [{ type: 'refusal' }] }] }).success).toBe(false);
  });

  it('refuses out-of-range values at the edge', () => {
    for (const bad of [{ presence_penalty: 3 }, { logit_bias: { word: 1 } }, { logit_bias: { '1': 101 } }, { reasoning_effort: 'max' }, { verbosity: 'loud' }, { n: 0 }]) {
      expect(ChatCompletionBodySchema.safeParse({ ...base, ...bad }).success).toBe(false);
    }
  });
});

describe('images', () => {
  it("keep the caller's detail (low, high, auto) for the provider; anything else is left to its default", () => {
    const part = (detail?: string) => ({ type: 'image_url', image_url: { url: 'https://x/y.png', ...(detail !== undefined ? { detail } : {}) } });
    const body = ChatCompletionBodySchema.parse({ model: 'p/m', messages: [{ role: 'user', content: [part('low'), part('high'), part('auto'), part('LOW'), part()] }] });
    expect(toGenerateOptions(body).messages[0]).toEqual({
      role: 'user',
      content: [
        { type: 'image_url', url: 'https://x/y.png', detail: 'low' },
        { type: 'image_url', url: 'https://x/y.png', detail: 'high' },
        { type: 'image_url', url: 'https://x/y.png', detail: 'auto' },
        { type: 'image_url', url: 'https://x/y.png' },
        { type: 'image_url', url: 'https://x/y.png' },
      ],
    });
  });
});
