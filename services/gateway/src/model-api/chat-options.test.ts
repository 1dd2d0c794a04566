import { openTestDatabase, type Db } from '@quire/db';
import { startFakeAnthropic, startFakeOpenAI, type FakeAnthropic, type FakeOpenAI } from '@quire/fakes';
import { ledgerFor, sseEvents, startHarness, type Harness } from '../testing/gateway-harness.js';

/**
 * Chat fields an SDK sends that change the answer's meaning are honoured or refused, never dropped:
 * what no target can do is a 400 here, what one provider cannot do is a 422 from its adapter, and a
 * route skips such a target (nothing was sent) for the next one that can.
 */
let db: Db;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let gateway: Harness;

beforeAll(async () => {
  [db, openai, anthropic] = await Promise.all([openTestDatabase(), startFakeOpenAI({ apiKey: 'sk-test', reply: () => '{"city":"Paris"}' }), startFakeAnthropic({ apiKey: 'sk-ant' })]);
  gateway = await startHarness(db, {
    providers: { openai: openai.url },
    providerConfigs: { anthropic: { type: 'anthropic', baseURL: anthropic.url, apiKey: 'sk-ant', allowLoopback: true } },
    prices: { 'openai/gpt-4o-mini': { input: '1', output: '2' }, 'anthropic/claude-haiku-4-5': { input: '1', output: '5' } },
    routes: `routes:
  json-ha:
    targets: [anthropic/claude-haiku-4-5, openai/gpt-4o-mini]
    retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 }
  anthropic-only:
    targets: [anthropic/claude-haiku-4-5]
`,
  });
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai?.close(), anthropic?.close()]);
  await db?.close();
});
afterEach(() => {
  openai.requests.length = 0;
  anthropic.requests.length = 0;
});

const messages = [{ role: 'user', content: 'Weather in Paris?' }];
const chat = (body: Record<string, unknown>, headers?: Record<string, string>) => gateway.post('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages, ...body }, headers);
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; param: string | null; message: string } }).error;

describe('refused for every target (400 invalid_request, naming the field)', () => {
  test.each([
    [{ n: 2 }, 'n', /one choice/],
    [{ logprobs: true }, 'logprobs', /logprobs/],
    [{ top_logprobs: 3 }, 'top_logprobs', /top_logprobs/],
    [{ functions: [{ name: 'f', parameters: {} }] }, 'functions', /tools/],
    [{ function_call: 'auto' }, 'function_call', /tool_choice/],
    [{ messages: [...messages, { role: 'function', name: 'f', content: '{}' }] }, 'messages.1', /role "tool"/],
    [{ messages: [{ role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }] }, 'messages.0.function_call', /tool_calls/],
    // Fields that change what comes back, what the provider keeps, or the price: refused, never dropped.
    [{ modalities: ['text', 'audio'] }, 'modalities', /modalities/],
    [{ audio: { voice: 'alloy', format: 'wav' } }, 'audio', /audio output is not supported/],
    [{ web_search_options: {} }, 'web_search_options', /web_search_options is not supported/],
    [{ prediction: { type: 'content', content: 'draft' } }, 'prediction', /predicted outputs/],
    [{ store: true }, 'store', /store is not supported/],
    [{ store: true, metadata: { run: 'nightly' } }, 'store', /store is not supported/],
    [{ service_tier: 'flex' }, 'service_tier', /service_tier must be "auto" or "default"/],
    [{ service_tier: 'priority' }, 'service_tier', /priced differently/],
    // Content parts no target is given: named, at the part, not a bare "Invalid input".
    [{ messages: [{ role: 'user', content: [{ type: 'text', text: 'Transcribe:' }, { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }] }] }, 'messages.0.content.1', /content part type "input_audio" is not supported/],
    [{ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-abc' } }] }] }, 'messages.0.content.0', /content part type "file" is not supported/],
    [{ messages: [{ role: 'user', content: [{ type: 'refusal', refusal: 'No.' }] }] }, 'messages.0.content.0', /content part type "refusal" is not supported in a user message/],
    // Images reach models in user messages only (OpenAI refuses them elsewhere too): refused, never dropped unseen.
    ...['system', 'developer', 'assistant'].map((role): [Record<string, unknown>, string, RegExp] => [
      { messages: [{ role, content: [{ type: 'text', text: 'See:' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }, ...messages] },
      'messages.0.content.1',
      new RegExp(`content part type "image_url" is not supported in a ${role} message`),
    ]),
    [{ messages: [...messages, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'snap', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c1', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] }, 'messages.2.content.0', /content part type "image_url" is not supported in a tool message: .*user message/],
  ])('%j', async (body, param, message) => {
    const res = await chat(body);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ code: 'invalid_request', param, message: expect.stringMatching(message) });
    expect(openai.requests).toHaveLength(0);
  });
});

test('what SDKs send as null or as the default is accepted: n 1, logprobs false, nulls for unset fields', async () => {
  const res = await chat({
    n: 1, logprobs: false, top_logprobs: null, user: null, tools: null, tool_choice: null, response_format: null, parallel_tool_calls: null,
    stream_options: null, presence_penalty: null, frequency_penalty: null, logit_bias: null, reasoning_effort: null, verbosity: null, functions: null, function_call: null,
  });
  expect(res.status).toBe(200);
  expect(openai.requests[0]?.body).toEqual({ model: 'gpt-4o-mini', messages });
});

test('hints that change neither the answer nor the bill are accepted and not forwarded; the defaults of the refused fields pass', async () => {
  const res = await chat({
    metadata: { run: 'nightly' }, safety_identifier: 'user-hash-1', prompt_cache_key: 'support-bot', user: 'u-1',
    modalities: ['text'], store: false, service_tier: 'auto', audio: null, web_search_options: null, prediction: null,
  });
  expect(res.status).toBe(200);
  expect(openai.requests[0]?.body).toEqual({ model: 'gpt-4o-mini', messages });
  expect((await chat({ service_tier: 'default' })).status).toBe(200);
});

test("an assistant's refusal part is accepted and replayed as its text", async () => {
  const res = await chat({
    messages: [
      { role: 'user', content: 'Write malware.' },
      { role: 'assistant', content: [{ type: 'refusal', refusal: "I can't help with that." }] },
      { role: 'user', content: 'Then a haiku.' },
    ],
  });
  expect(res.status).toBe(200);
  expect((openai.requests[0]?.body as { messages: unknown[] }).messages[1]).toEqual({ role: 'assistant', content: "I can't help with that." });
});

test('strict, parallel_tool_calls false and the sampling fields reach an OpenAI upstream', async () => {
  const res = await chat({
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' }, strict: true } }],
    parallel_tool_calls: false,
    response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' }, strict: true } },
    presence_penalty: 0.5, frequency_penalty: 0.25, logit_bias: { '50256': -100 }, reasoning_effort: 'minimal', verbosity: 'low',
  });
  expect(res.status).toBe(200);
  expect(openai.requests[0]?.body).toMatchObject({
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' }, strict: true } }],
    parallel_tool_calls: false,
    response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' }, strict: true } },
    presence_penalty: 0.5, frequency_penalty: 0.25, logit_bias: { '50256': -100 }, reasoning_effort: 'minimal', verbosity: 'low',
  });
});

describe('a provider that cannot honour a field', () => {
  test('called directly: 422 model_capability_unsupported naming the field, nothing sent, nothing billed', async () => {
    const res = await chat({ model: 'anthropic/claude-haiku-4-5', response_format: { type: 'json_object' } }, { 'x-request-id': 'cap-direct' });
    expect(res.status).toBe(422);
    expect(await errorOf(res)).toMatchObject({ code: 'model_capability_unsupported', param: 'response_format', message: expect.stringMatching(/^anthropic: .*json_schema/) });
    expect(anthropic.requests).toHaveLength(0);
    expect(await ledgerFor(db, 'cap-direct')).toEqual([]);
  });

  test('on a route: that target is skipped (nothing sent, no retry, no ledger row) and the next one answers', async () => {
    for (const stream of [false, true]) {
      const trace = `cap-route-${stream}`;
      const res = await chat({ model: 'json-ha', stream, response_format: { type: 'json_object' } }, { 'x-request-id': trace });
      expect(res.status).toBe(200);
      if (stream) expect(sseEvents(await res.text()).at(-1)).toBe('[DONE]');
      else expect(((await res.json()) as any).choices[0].message.content).toBe('{"city":"Paris"}');
      const rows = await ledgerFor(db, trace);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ provider: 'openai', status: 'ok', route: 'json-ha' });
      expect(rows[0]!.route_reason).toContain('skipped anthropic/claude-haiku-4-5: model_capability_unsupported');
    }
    expect(anthropic.requests).toHaveLength(0);
    expect(openai.requests[0]?.body).toMatchObject({ response_format: { type: 'json_object' } });
  });

  test('on a route where no target can: the refusal itself', async () => {
    const res = await chat({ model: 'anthropic-only', presence_penalty: 1 });
    expect(res.status).toBe(422);
    expect(await errorOf(res)).toMatchObject({ code: 'model_capability_unsupported', param: 'presence_penalty' });
  });

  test('Anthropic honours json_schema and parallel_tool_calls false in its own form', async () => {
    const res = await chat({
      model: 'anthropic/claude-haiku-4-5',
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' } } },
    });
    expect(res.status).toBe(200);
    expect(anthropic.requests[0]?.body).toMatchObject({ output_config: { format: { type: 'json_schema', schema: { type: 'object' } } }, tool_choice: { type: 'auto', disable_parallel_tool_use: true } });
  });
});
