import { CHAT_MESSAGES_MAX, samplingOptionsOf } from '@quire/contracts';
import { toGenerateOptions } from '../../services/gateway/src/model-api/translate.js';
import { ChatCompletionBodySchema } from '../../services/gateway/src/model-api/validators.js';
import { KbChatBodySchema } from '../../services/retrieval/src/routes/kb-chat-options.js';

/**
 * The gateway's plain chat (ChatCompletionBodySchema) and a kb/<collection> chat (KbChatBodySchema)
 * read the fields both can honour alike: both compose their schema from @quire/contracts'
 * chat-request.ts. Each row is parsed by both; both must accept it, or both refuse it at the same
 * path with the same words.
 */
const question = { role: 'user', content: 'How long is the laptop warranty?' };
const gatewayBody = (fields: Record<string, unknown>) => ({ model: 'openai/gpt-4o-mini', messages: [question], ...fields });
const kbBody = (fields: Record<string, unknown>) => ({ model: 'kb/Handbook', messages: [question], ...fields });

type Outcome = { ok: true } | { ok: false; path: string; message: string };
function outcome(result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }): Outcome {
  if (result.success) return { ok: true };
  const issue = result.error!.issues[0]!;
  return { ok: false, path: issue.path.map(String).join('.'), message: issue.message };
}
const both = (fields: Record<string, unknown>) => ({
  gateway: outcome(ChatCompletionBodySchema.safeParse(gatewayBody(fields))),
  kb: outcome(KbChatBodySchema.safeParse(kbBody(fields))),
});

describe('refused alike, at the same path with the same words', () => {
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['role "function"', { messages: [question, { role: 'function', name: 'lookup', content: '{}' }] }, 'messages.1', /role "function" is deprecated .*role "tool"/],
    ["an assistant's function_call", { messages: [{ role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }, question] }, 'messages.0.function_call', /function_call is deprecated .*tool_calls/],
    ['user: 123', { user: 123 }, 'user', /string/],
    ['parallel_tool_calls: "yes"', { parallel_tool_calls: 'yes' }, 'parallel_tool_calls', /boolean/],
    [`${CHAT_MESSAGES_MAX + 1} messages`, { messages: Array.from({ length: CHAT_MESSAGES_MAX + 1 }, () => question) }, 'messages', /at most 2000 messages/],
    ['no messages', { messages: [] }, 'messages', /must not be empty/],
    ['stream: "yes"', { stream: 'yes' }, 'stream', /boolean/],
    ['web_search_options', { web_search_options: {} }, 'web_search_options', /^web_search_options is not supported: Quire does not have models search the web/],
    ['n: 2', { n: 2 }, 'n', /one choice per request/],
    ['logprobs: true', { logprobs: true }, 'logprobs', /logprobs are not supported/],
    ['top_logprobs: 3', { top_logprobs: 3 }, 'top_logprobs', /top_logprobs is not supported/],
    ['functions', { functions: [{ name: 'f', parameters: {} }] }, 'functions', /declare them in tools/],
    ['function_call', { function_call: 'auto' }, 'function_call', /use tool_choice instead/],
    ['modalities with audio', { modalities: ['text', 'audio'] }, 'modalities', /Quire answers in text/],
    ['audio', { audio: { voice: 'alloy', format: 'wav' } }, 'audio', /audio output is not supported/],
    ['prediction', { prediction: { type: 'content', content: 'draft' } }, 'prediction', /predicted outputs/],
    ['store: true', { store: true }, 'store', /store is not supported/],
    ['service_tier: "flex"', { service_tier: 'flex' }, 'service_tier', /priced differently/],
    ['stop: five sequences', { stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', /.+/],
    ['temperature: 3', { temperature: 3 }, 'temperature', /.+/],
    ['max_tokens: 0', { max_tokens: 0 }, 'max_tokens', /.+/],
    ['logit_bias with a word for a key', { logit_bias: { hello: 1 } }, 'logit_bias.hello', /.+/],
    ['reasoning_effort: "max"', { reasoning_effort: 'max' }, 'reasoning_effort', /.+/],
  ])('%s', (_name, fields, path, message) => {
    const { gateway, kb } = both(fields);
    expect(gateway).toEqual({ ok: false, path, message: expect.stringMatching(message) });
    expect(kb).toEqual(gateway);
  });
});

describe('accepted alike', () => {
  test.each<[string, Record<string, unknown>]>([
    ['tool_choice "auto" without tools (nothing to call; OpenAI takes it too)', { tool_choice: 'auto' }],
    ['tool_choice "none"', { tool_choice: 'none' }],
    ['stop: ""', { stop: '' }],
    ['what SDKs send by default', { n: 1, logprobs: false, top_logprobs: 0, modalities: ['text'], store: false, service_tier: 'auto', parallel_tool_calls: true, user: 'u-1', stream: false, stream_options: null }],
    ['nulls for unset fields', { user: null, parallel_tool_calls: null, tool_choice: null, response_format: null, stop: null, max_tokens: null, temperature: null, functions: null, function_call: null, web_search_options: null }],
    ['hints that change neither the answer nor the bill', { metadata: { app: 'x' }, safety_identifier: 'h', prompt_cache_key: 'k', service_tier: 'default' }],
    [`${CHAT_MESSAGES_MAX} messages`, { messages: Array.from({ length: CHAT_MESSAGES_MAX }, () => question) }],
  ])('%s', (_name, fields) => {
    expect(both(fields)).toEqual({ gateway: { ok: true }, kb: { ok: true } });
  });
});

describe('the answering call gets the same settings from both (samplingOptionsOf)', () => {
  const sampling = (fields: Record<string, unknown>) => {
    const { messages: _messages, ...gateway } = toGenerateOptions(ChatCompletionBodySchema.parse(gatewayBody(fields)));
    return { gateway, kb: samplingOptionsOf(KbChatBodySchema.parse(kbBody(fields))) };
  };

  test.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['stop: "" asks for no stop', { stop: '' }, {}],
    ['stop: [""] too', { stop: [''] }, {}],
    ['an empty sequence among others is dropped', { stop: ['months', ''] }, { stop: ['months'] }],
    ['a stop string is a one-item list', { stop: 'months' }, { stop: ['months'] }],
    ['max_completion_tokens wins over max_tokens', { max_tokens: 10, max_completion_tokens: 20 }, { maxOutputTokens: 20 }],
    ['an empty logit_bias is none', { logit_bias: {} }, {}],
    [
      'every sampling field',
      { max_tokens: 50, stop: ['a', 'b'], temperature: 0.2, top_p: 0.9, seed: 7, presence_penalty: 0.5, frequency_penalty: -0.5, logit_bias: { '50256': -100 }, reasoning_effort: 'low', verbosity: 'high' },
      { maxOutputTokens: 50, stop: ['a', 'b'], temperature: 0.2, topP: 0.9, seed: 7, presencePenalty: 0.5, frequencyPenalty: -0.5, logitBias: { '50256': -100 }, reasoningEffort: 'low', verbosity: 'high' },
    ],
  ])('%s', (_name, fields, expected) => {
    const { gateway, kb } = sampling(fields);
    expect(kb).toEqual(expected);
    expect(gateway).toEqual(expected);
  });
});

/** What a grounded answer cannot be: refused on kb/ only, in the gateway's words' form (what to send instead). */
describe('refused on a kb/ chat only, where the gateway honours the field', () => {
  const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['tools', { tools }, 'tools', /tools are not supported on a kb\/<collection> model.*"provider\/model"/],
    ['tool_choice "auto" with tools', { tools, tool_choice: 'auto' }, 'tools', /tools are not supported/],
    ['tool_choice "required"', { tool_choice: 'required' }, 'tool_choice', /tool_choice must be "none" or "auto" \(or left out\) on a kb\/<collection> model/],
    ['a named tool_choice', { tool_choice: { type: 'function', function: { name: 'lookup' } } }, 'tool_choice', /tool_choice must be "none" or "auto"/],
    ['response_format json_object', { response_format: { type: 'json_object' } }, 'response_format', /response_format must be \{"type": "text"\} \(or left out\)/],
  ])('%s', (_name, fields, path, message) => {
    const { gateway, kb } = both(fields);
    expect(gateway).toEqual({ ok: true });
    expect(kb).toEqual({ ok: false, path, message: expect.stringMatching(message) });
  });

  test('tools with tool_choice "none", and an empty tools list, ask for nothing and pass', () => {
    expect(both({ tools, tool_choice: 'none' }).kb).toEqual({ ok: true });
    expect(both({ tools: [] }).kb).toEqual({ ok: true });
  });
});
