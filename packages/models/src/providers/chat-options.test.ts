import {
  startFakeAnthropic, startFakeAzureOpenAI, startFakeGemini, startFakeOllama, startFakeOpenAI,
  type FakeAnthropic, type FakeAzureOpenAI, type FakeGemini, type FakeOllama, type FakeOpenAI, type FakeReply,
} from '@quire/fakes';
import { UnsupportedFunctionalityError } from '../errors/unsupported-functionality-error.js';
import type { GenerateOptionsV1, GenerationModelV1 } from '../spec/generation/generation-model-v1.js';
import { createAnthropic } from './anthropic/anthropic-provider.js';
import { createAzureOpenAI } from './azure-openai/azure-openai-provider.js';
import { createGemini } from './gemini/gemini-provider.js';
import { createOllama } from './ollama/ollama-provider.js';
import { createOpenAICompatible } from './openai-compatible/openai-compatible-provider.js';
import { collect } from '../testing/provider-test-helpers.js';

/**
 * The chat options beyond the basics (strict schemas, parallel_tool_calls, penalties, logit bias,
 * reasoning effort, verbosity, JSON modes): each adapter sends them in its provider's documented
 * form (the fakes check that form), or refuses before sending anything. None is dropped.
 */
const messages = [{ role: 'user' as const, content: 'Weather in Paris and Rome?' }];
const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
const tools = [
  { name: 'get_weather', parameters: schema, strict: true },
  { name: 'get_time', parameters: schema },
];
const twoCalls = (): FakeReply => ({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_weather', arguments: { city: 'Rome' } }] });

let openai: FakeOpenAI;
let azure: FakeAzureOpenAI;
let anthropic: FakeAnthropic;
let gemini: FakeGemini;
let ollama: FakeOllama;
let reply: () => string | FakeReply = () => 'ok';

beforeAll(async () => {
  [openai, azure, anthropic, gemini, ollama] = await Promise.all([
    startFakeOpenAI({ reply: () => reply() }),
    startFakeAzureOpenAI({ reply: () => reply() }),
    startFakeAnthropic({ reply: () => reply() }),
    startFakeGemini({ reply: () => reply() }),
    startFakeOllama({ reply: () => reply() }),
  ]);
});
afterAll(() => Promise.all([openai, azure, anthropic, gemini, ollama].map((f) => f.close())));
afterEach(() => {
  reply = () => 'ok';
  for (const fake of [openai, azure, anthropic, gemini, ollama]) fake.requests.length = 0;
});

const openAIModel = () => createOpenAICompatible({ name: 'openai', baseURL: openai.url }).chatModel('gpt-4o-mini');
const azureModel = () => createAzureOpenAI({ endpoint: azure.origin, apiKey: 'k' }).chatModel('gpt-4o-mini');
const anthropicModel = () => createAnthropic({ baseURL: anthropic.url, apiKey: 'k' }).chatModel('claude-haiku-4-5');
const geminiModel = (id = 'gemini-3-pro-preview') => createGemini({ baseURL: gemini.url, apiKey: 'k' }).chatModel(id);
const ollamaModel = () => createOllama({ baseURL: ollama.url }).chatModel('llama3.2');

/** The refusal an adapter throws for `options`, checked to have sent nothing. */
async function refusal(model: GenerationModelV1, options: Omit<GenerateOptionsV1, 'messages'>, sent: { requests: unknown[] }) {
  const before = sent.requests.length;
  let error: unknown;
  await model.doGenerate({ messages, ...options }).catch((e: unknown) => (error = e));
  const streamed = await model.doStream({ messages, ...options }).then(() => undefined, (e: unknown) => e);
  expect(UnsupportedFunctionalityError.is(error)).toBe(true);
  expect(UnsupportedFunctionalityError.is(streamed)).toBe(true);
  expect(sent.requests.length).toBe(before);
  return error as UnsupportedFunctionalityError;
}

describe('OpenAI-compatible and Azure forward every option in OpenAI form', () => {
  const everything: Omit<GenerateOptionsV1, 'messages'> = {
    tools,
    parallelToolCalls: false,
    responseFormat: { type: 'json_schema', name: 'weather', schema, strict: true },
    presencePenalty: 0.5,
    frequencyPenalty: -0.5,
    logitBias: { '50256': -100 },
    reasoningEffort: 'low',
    verbosity: 'high',
  };
  const expected = {
    tools: [
      { type: 'function', function: { name: 'get_weather', parameters: schema, strict: true } },
      { type: 'function', function: { name: 'get_time', parameters: schema } },
    ],
    parallel_tool_calls: false,
    response_format: { type: 'json_schema', json_schema: { name: 'weather', schema, strict: true } },
    presence_penalty: 0.5,
    frequency_penalty: -0.5,
    logit_bias: { '50256': -100 },
    reasoning_effort: 'low',
    verbosity: 'high',
  };

  it.each([
    ['openai', () => openAIModel(), () => openai],
    ['azure', () => azureModel(), () => azure],
  ])('%s: sent, and the fake holds the answer to one tool call', async (_name, model, fake) => {
    reply = twoCalls;
    const result = await model().doGenerate({ messages, ...everything });
    expect(fake().requests[0]?.body).toMatchObject(expected);
    expect(result.toolCalls).toHaveLength(1);
    const parts = await collect((await model().doStream({ messages, ...everything })).stream);
    expect(fake().requests[1]?.body).toMatchObject({ ...expected, stream: true });
    expect(new Set(parts.flatMap((p) => (p.type === 'tool-call-delta' ? [p.index] : []))).size).toBe(1);
  });

  it('parallel_tool_calls only travels with tools (OpenAI refuses it without)', async () => {
    await openAIModel().doGenerate({ messages, parallelToolCalls: false });
    expect(openai.requests[0]?.body).not.toHaveProperty('parallel_tool_calls');
  });
});

describe('Anthropic', () => {
  it('maps json_schema to output_config.format, strict tools to strict, and parallel_tool_calls false to disable_parallel_tool_use', async () => {
    reply = twoCalls;
    const result = await anthropicModel().doGenerate({
      messages, tools, parallelToolCalls: false, responseFormat: { type: 'json_schema', name: 'weather', schema, strict: true },
    });
    const body = anthropic.requests[0]?.body;
    expect(body.output_config).toEqual({ format: { type: 'json_schema', schema } });
    expect(body.tools).toEqual([{ name: 'get_weather', input_schema: schema, strict: true }, { name: 'get_time', input_schema: schema }]);
    expect(body.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(result.toolCalls).toHaveLength(1);
    await anthropicModel().doGenerate({ messages, tools, toolChoice: 'required', parallelToolCalls: false });
    expect(anthropic.requests[1]?.body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
  });

  it('refuses JSON mode without a schema and what the Messages API has no equivalent for', async () => {
    const json = await refusal(anthropicModel(), { responseFormat: { type: 'json_object' } }, anthropic);
    expect(json).toMatchObject({ setting: 'responseFormat', code: 'model_capability_unsupported', provider: 'anthropic' });
    expect(json.message).toMatch(/json_schema/);
    for (const [setting, value] of [['presencePenalty', 1], ['frequencyPenalty', 1], ['logitBias', { '1': 5 }], ['reasoningEffort', 'high'], ['verbosity', 'low']] as const) {
      expect(await refusal(anthropicModel(), { [setting]: value }, anthropic)).toMatchObject({ setting });
    }
  });
});

describe('Gemini', () => {
  it('maps the penalties to generationConfig and reasoning effort to a Gemini 3 thinking level', async () => {
    await geminiModel().doGenerate({ messages, presencePenalty: 0.4, frequencyPenalty: 0.2, reasoningEffort: 'low' });
    expect(gemini.requests[0]?.body.generationConfig).toEqual({ presencePenalty: 0.4, frequencyPenalty: 0.2, thinkingConfig: { thinkingLevel: 'low' } });
  });

  it('keeps a strict json_schema format as responseJsonSchema, which Gemini always decodes strictly', async () => {
    await geminiModel('gemini-2.5-flash').doGenerate({ messages, responseFormat: { type: 'json_schema', name: 'w', schema, strict: true } });
    expect(gemini.requests[0]?.body.generationConfig).toEqual({ responseMimeType: 'application/json', responseJsonSchema: schema });
  });

  it("honours strict tools with constrained decoding of calls: VALIDATED under auto, ANY when a call is required", async () => {
    await geminiModel().doGenerate({ messages, tools });
    await geminiModel().doGenerate({ messages, tools, toolChoice: 'required' });
    await geminiModel().doGenerate({ messages, tools: tools.map((t) => ({ ...t, strict: false })) });
    expect(gemini.requests.map((r) => r.body.toolConfig)).toEqual([
      { functionCallingConfig: { mode: 'VALIDATED' } },
      { functionCallingConfig: { mode: 'ANY' } },
      undefined,
    ]);
  });

  it('refuses reasoning effort where no level fits, logit bias, verbosity and one-call-at-a-time', async () => {
    expect((await refusal(geminiModel('gemini-2.5-flash'), { reasoningEffort: 'low' }, gemini)).message).toMatch(/token budget/);
    expect((await refusal(geminiModel(), { reasoningEffort: 'none' }, gemini)).message).toMatch(/no thinking level "none"/);
    expect(await refusal(geminiModel(), { logitBias: { '1': 1 } }, gemini)).toMatchObject({ setting: 'logitBias' });
    expect(await refusal(geminiModel(), { verbosity: 'low' }, gemini)).toMatchObject({ setting: 'verbosity' });
    expect(await refusal(geminiModel(), { tools, parallelToolCalls: false }, gemini)).toMatchObject({ setting: 'parallelToolCalls' });
  });
});

describe('Ollama', () => {
  it('maps the penalties to runner options', async () => {
    await ollamaModel().doGenerate({ messages, presencePenalty: 1.5, frequencyPenalty: 1 });
    expect(ollama.requests[0]?.body.options).toEqual({ presence_penalty: 1.5, frequency_penalty: 1 });
  });

  it('refuses a forced tool call, which /api/chat cannot express, and sends "auto" and "none" as before', async () => {
    const loose = [{ name: 'get_time' }];
    expect((await refusal(ollamaModel(), { tools: loose, toolChoice: 'required' }, ollama)).message).toMatch(/"required"/);
    expect(await refusal(ollamaModel(), { tools: loose, toolChoice: { name: 'get_time' } }, ollama)).toMatchObject({ setting: 'toolChoice' });
    await ollamaModel().doGenerate({ messages, tools: loose, toolChoice: 'auto' });
    await ollamaModel().doGenerate({ messages, tools: loose, toolChoice: 'none' });
    expect(ollama.requests.map((r) => Boolean(r.body.tools))).toEqual([true, false]);
  });

  it('refuses logit bias, reasoning effort, verbosity, one-call-at-a-time and strict tools', async () => {
    for (const [setting, value] of [['logitBias', { '1': 1 }], ['reasoningEffort', 'low'], ['verbosity', 'low']] as const) {
      expect(await refusal(ollamaModel(), { [setting]: value }, ollama)).toMatchObject({ setting });
    }
    expect(await refusal(ollamaModel(), { tools: [{ name: 'get_time' }], parallelToolCalls: false }, ollama)).toMatchObject({ setting: 'parallelToolCalls' });
    expect(await refusal(ollamaModel(), { tools }, ollama)).toMatchObject({ setting: 'tools' });
  });
});
