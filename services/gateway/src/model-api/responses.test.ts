import OpenAI from 'openai';
import type { Db } from '@quire/db';
import type { FakeOpenAI, FakeReply } from '@quire/fakes';
import type { RunningServer } from '@quire/server-kit';
import type { GatewayService } from '../gateway-service.js';
import { estimateRequest } from '../governance/cost-estimate.js';
import type { RouteStore } from '../routing/route-store.js';
import { startBothDoors, type BothDoors } from '../testing/both-doors.js';
import { ADMIN_AUTH, ledgerFor, TEST_ADMIN_KEY } from '../testing/gateway-harness.js';

/**
 * `POST /v1/responses` (OpenAI's Responses API) through the official openai SDK, against a gateway
 * over a fake OpenAI (chat completions upstream): the same model service, governance and ledger as
 * the chat endpoint, through the node:http model front and through express.
 */
let db: Db;
let openai: FakeOpenAI;
let service: GatewayService;
let front: RunningServer;
let viaExpress: RunningServer;
let doors: BothDoors;

const MODEL = 'openai/gpt-4o-mini';
const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

/** The fake's answer: tool calls while a tool is offered and unanswered, JSON when asked, else text. */
function reply(body: any): FakeReply {
  const messages: any[] = body.messages;
  const last = messages[messages.length - 1];
  const said = JSON.stringify(messages);
  if (last.role === 'tool') return { text: `The weather is ${last.content}.` };
  if (body.tools?.length) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
  if (body.response_format?.type === 'json_schema') return { text: '{"city":"Paris","temperature":21}' };
  if (said.includes('be long')) return { text: 'This answer was cut off', finishReason: 'length' };
  return { text: 'Hello from the fake OpenAI server.' };
}

beforeAll(async () => {
  doors = await startBothDoors({ retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 }, reply });
  ({ db, openai, service, front, viaExpress } = doors);
});

afterAll(() => doors?.close());

afterEach(() => {
  openai.script.reset();
  openai.requests.length = 0;
});

const client = (server: RunningServer = front) => new OpenAI({ apiKey: TEST_ADMIN_KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
const trace = (id: string) => ({ headers: { 'x-request-id': id } });
const upstreamBody = (i = 0) => openai.requests[i]!.body as { messages: any[]; tools?: any[]; response_format?: any; max_completion_tokens?: number; max_tokens?: number };

async function ledger(traceId: string) {
  await service.ledger.flush();
  return ledgerFor(db, traceId);
}

async function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${front.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', ...ADMIN_AUTH, ...headers }, body: JSON.stringify(body) });
}

/** Named SSE events: `event:` line and `data:` JSON. */
function sseOf(text: string): { event: string; data: any }[] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? 'null';
      return { event, data: JSON.parse(data) };
    });
}

describe('non-streaming responses through the openai SDK', () => {
  test('text through both doors: output_text works, the response has OpenAI\'s shape, one ledger row each', async () => {
    for (const [name, server] of [['front', front], ['express', viaExpress]] as const) {
      const response = await client(server).responses.create({ model: MODEL, input: 'Say hello.' }, trace(`resp-text-${name}`));
      expect(response.output_text).toBe('Hello from the fake OpenAI server.');
      expect(response).toMatchObject({
        object: 'response', status: 'completed', model: MODEL, error: null, incomplete_details: null, store: false,
        tools: [], tool_choice: 'auto', parallel_tool_calls: true, text: { format: { type: 'text' } }, metadata: {},
      });
      expect(response.id).toMatch(/^resp_/);
      expect(response.output).toEqual([
        { id: expect.stringMatching(/^msg_/), type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello from the fake OpenAI server.', annotations: [], logprobs: [] }] },
      ]);
      const usage = response.usage!;
      expect(usage.input_tokens).toBeGreaterThan(0);
      expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
      expect(usage.input_tokens_details.cached_tokens).toBe(0);
      expect(usage.output_tokens_details.reasoning_tokens).toBe(0);
      const rows = await ledger(`resp-text-${name}`);
      expect(rows).toEqual([expect.objectContaining({ status: 'ok', model: 'gpt-4o-mini', stream: false, input_tokens: usage.input_tokens, output_tokens: usage.output_tokens })]);
      expect(rows[0]!.cost_usd).not.toBeNull();
    }
  });

  test('instructions become a system message; messages, options and metadata travel or are echoed', async () => {
    const response = await client().responses.create({
      model: MODEL,
      instructions: 'You are terse.',
      input: [
        { role: 'developer', content: 'Answer in English.' },
        { role: 'user', content: [{ type: 'input_text', text: 'Say' }, { type: 'input_text', text: ' hello.' }] },
      ],
      temperature: 0.2, top_p: 0.9, max_output_tokens: 50, metadata: { team: 'docs' }, user: 'u-1', store: true,
    });
    expect(response.output_text).toBe('Hello from the fake OpenAI server.');
    expect(response).toMatchObject({ instructions: 'You are terse.', temperature: 0.2, top_p: 0.9, max_output_tokens: 50, metadata: { team: 'docs' }, store: false });
    const sent = upstreamBody();
    expect(sent.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'system', content: 'Answer in English.' },
      { role: 'user', content: [{ type: 'text', text: 'Say' }, { type: 'text', text: ' hello.' }] },
    ]);
    expect(sent).toMatchObject({ temperature: 0.2, top_p: 0.9 });
    expect(sent.max_completion_tokens ?? sent.max_tokens).toBe(50);
  });

  test('a function tool round trip: function_call out, function_call_output in, then the final text', async () => {
    const c = client();
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await c.responses.create({ model: MODEL, input, tools: [WEATHER_TOOL] });
    expect(first.status).toBe('completed');
    expect(first.output).toEqual([
      { id: expect.stringMatching(/^fc_/), type: 'function_call', status: 'completed', call_id: expect.any(String), name: 'get_weather', arguments: '{"city":"Paris"}' },
    ]);
    expect(first.tools).toEqual([{ ...WEATHER_TOOL }]);
    expect(upstreamBody(0).tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: WEATHER_TOOL.parameters, strict: true } }]);
    const call = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;

    const second = await c.responses.create({
      model: MODEL,
      // Replaying output items as input is what OpenAI documents; the SDK types call some output items non-inputs.
      input: [...input, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21°C' }],
      tools: [WEATHER_TOOL],
    });
    expect(second.output_text).toBe('The weather is sunny, 21°C.');
    expect(upstreamBody(1).messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      expect.objectContaining({ role: 'assistant', tool_calls: [{ id: call.call_id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }),
      { role: 'tool', tool_call_id: call.call_id, content: 'sunny, 21°C' },
    ]);
  });

  test('structured output: text.format json_schema is the chat endpoint\'s response_format', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' }, temperature: { type: 'number' } }, required: ['city', 'temperature'], additionalProperties: false };
    const response = await client().responses.create({ model: MODEL, input: 'Weather as JSON', text: { format: { type: 'json_schema', name: 'weather', schema, strict: true } } });
    expect(JSON.parse(response.output_text)).toEqual({ city: 'Paris', temperature: 21 });
    expect(response.text).toEqual({ format: { type: 'json_schema', name: 'weather', schema, strict: true } });
    expect(upstreamBody().response_format).toEqual({ type: 'json_schema', json_schema: expect.objectContaining({ name: 'weather', schema, strict: true }) });

    await client().responses.create({ model: MODEL, input: 'Any JSON', text: { format: { type: 'json_object' } } });
    expect(upstreamBody(1).response_format).toEqual({ type: 'json_object' });
  });

  test('a length finish is status "incomplete" with incomplete_details.reason max_output_tokens', async () => {
    const response = await client().responses.create({ model: MODEL, input: 'Please be long.', max_output_tokens: 5 });
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(response.output).toEqual([expect.objectContaining({ type: 'message', status: 'incomplete' })]);
    expect(response.output_text).toBe('This answer was cut off');
  });

  test('usage is metered per attempt as for chat: a failed attempt and its retry are two ledger rows', async () => {
    openai.script.failNext(1, { status: 500 });
    const response = await client().responses.create({ model: MODEL, input: 'Say hello.' }, trace('resp-retry'));
    expect(response.status).toBe('completed');
    const rows = await ledger('resp-retry');
    expect(rows.map((r) => r.status)).toEqual(['error', 'ok']);
    expect(rows[1]).toMatchObject({ input_tokens: response.usage!.input_tokens, output_tokens: response.usage!.output_tokens });
  });
});

describe('refused with a clear 400 before any provider is called', () => {
  test.each([
    ['a hosted tool type', { tools: [{ type: 'web_search' }] }, 'tools.0.type', /unsupported tool type "web_search".*only "function" tools/],
    ['file_search', { tools: [WEATHER_TOOL, { type: 'file_search', vector_store_ids: ['vs_1'] }] }, 'tools.1.type', /unsupported tool type "file_search"/],
    ['previous_response_id', { previous_response_id: 'resp_123' }, 'previous_response_id', /previous_response_id is not supported/],
    ['conversation', { conversation: 'conv_123' }, 'conversation', /conversation is not supported/],
    ['background', { background: true }, 'background', /background responses are not supported/],
    ['a priced-apart service tier', { service_tier: 'flex' }, 'service_tier', /service_tier must be "auto" or "default"/],
    ['an item_reference', { input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input.0.type', /item_reference is not supported/],
    ['an image by file_id', { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1', detail: 'auto' }] }] }, 'input.0.content.0.image_url', /image_url/],
    ['no input', { input: undefined }, 'input', /input is required/],
    ['an empty input list', { input: [] }, 'input', /must not be empty/],
    ['a function_call_output without call_id', { input: [{ type: 'function_call_output', output: 'x' }] }, 'input.0.call_id', /call_id/],
  ])('%s', async (_what, fields, param, message) => {
    const res = await post({ model: MODEL, input: 'hi', ...fields });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: 'invalid_request', type: 'invalid_request_error', param, message: expect.stringMatching(message) });
    expect(openai.requests).toHaveLength(0);
  });

  test('the SDK sees them as BadRequestError', async () => {
    await expect(client().responses.create({ model: MODEL, input: 'hi', tools: [{ type: 'web_search' }] })).rejects.toMatchObject({ status: 400, code: 'invalid_request', param: 'tools.0.type' });
    await expect(client().responses.create({ model: MODEL, input: 'hi', previous_response_id: 'resp_1' })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    expect(openai.requests).toHaveLength(0);
  });
});

describe('streaming', () => {
  test('responses.stream(): text deltas, then response.completed with the usage; one streamed ledger row', async () => {
    const stream = client().responses.stream({ model: MODEL, input: 'Say hello.' }, trace('resp-stream'));
    let text = '';
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    const final = await stream.finalResponse();
    expect(text).toBe('Hello from the fake OpenAI server.');
    expect(final.output_text).toBe(text);
    expect(final.status).toBe('completed');
    expect(types[types.length - 1]).toBe('response.completed');
    expect(final.usage!.total_tokens).toBe(final.usage!.input_tokens + final.usage!.output_tokens);
    expect(await ledger('resp-stream')).toEqual([expect.objectContaining({ status: 'ok', stream: true, input_tokens: final.usage!.input_tokens, output_tokens: final.usage!.output_tokens })]);
  });

  test('create({ stream: true }) with a tool: function_call item and argument deltas, as OpenAI sends them', async () => {
    const stream = await client().responses.create({ model: MODEL, input: 'Weather in Paris?', tools: [WEATHER_TOOL], stream: true });
    let args = '';
    let done: OpenAI.Responses.ResponseCompletedEvent | undefined;
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.function_call_arguments.delta') args += event.delta;
      if (event.type === 'response.completed') done = event;
    }
    expect(args).toBe('{"city":"Paris"}');
    expect(types).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added',
      ...types.filter((t) => t === 'response.function_call_arguments.delta'),
      'response.function_call_arguments.done', 'response.output_item.done', 'response.completed',
    ]);
    expect(done!.response.output).toEqual([expect.objectContaining({ type: 'function_call', status: 'completed', name: 'get_weather', arguments: '{"city":"Paris"}' })]);
  });

  test('raw SSE: named events in OpenAI\'s order, sequence_number counting up from 0', async () => {
    const res = await post({ model: MODEL, input: 'Say hello.', stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseOf(await res.text());
    for (const e of events) expect(e.event).toBe(e.data.type);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    const order = events.map((e) => e.event).filter((t, i, all) => t !== 'response.output_text.delta' || all[i - 1] !== t);
    expect(order).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
      'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed',
    ]);
    const byType = Object.fromEntries(events.map((e) => [e.event, e.data]));
    expect(byType['response.created'].response).toMatchObject({ object: 'response', status: 'in_progress', output: [], usage: null });
    const itemId = byType['response.output_item.added'].item.id;
    expect(byType['response.output_text.delta']).toMatchObject({ item_id: itemId, output_index: 0, content_index: 0 });
    expect(byType['response.output_text.done'].text).toBe('Hello from the fake OpenAI server.');
    expect(byType['response.completed'].response).toMatchObject({ id: byType['response.created'].response.id, status: 'completed', usage: { total_tokens: expect.any(Number) } });
  });

  test('a length finish ends with response.incomplete', async () => {
    const res = await post({ model: MODEL, input: 'Please be long.', stream: true });
    const events = sseOf(await res.text());
    expect(events[events.length - 1]!.data).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  });

  test('a provider failure after the first byte ends the stream with response.failed; before it, an HTTP error', async () => {
    openai.script.streamErrorAfter(2);
    const stream = await client().responses.create({ model: MODEL, input: 'Say hello.', stream: true }, trace('resp-stream-fail'));
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    await expect((async () => {
      for await (const event of stream) events.push(event);
    })()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(events.slice(0, 2).map((e) => e.type)).toEqual(['response.created', 'response.in_progress']);
    const failed = events[events.length - 1] as OpenAI.Responses.ResponseFailedEvent;
    expect(failed.type).toBe('response.failed');
    expect(failed.response).toMatchObject({ status: 'failed', error: { code: 'server_error', message: expect.any(String) } });
    expect(failed.response.output).toEqual([expect.objectContaining({ type: 'message', status: 'incomplete' })]);
    expect((await ledger('resp-stream-fail')).map((r) => r.status)).toEqual(['error']);

    // Raw: `response.failed`, then an `error` event, both with the next sequence numbers.
    openai.script.streamErrorAfter(2);
    const raw = sseOf(await (await post({ model: MODEL, input: 'Say hello.', stream: true })).text());
    expect(raw.slice(-2).map((e) => e.event)).toEqual(['response.failed', 'error']);
    expect(raw[raw.length - 1]!.data).toMatchObject({ type: 'error', code: 'server_error', message: expect.any(String), param: null });
    expect(raw.map((e) => e.data.sequence_number)).toEqual(raw.map((_, i) => i));

    openai.script.failNext(2, { status: 400 });
    await expect(client().responses.create({ model: MODEL, input: 'Say hello.', stream: true })).rejects.toMatchObject({ status: 400 });
  });
});

describe('governance', () => {
  test('the reservation counts input, instructions, tools and text format, and max_output_tokens (or the default) as output', async () => {
    const costOf = () => '1';
    const routes = { get: async () => undefined } as unknown as RouteStore;
    const base = { model: 'p/m', input: 'x'.repeat(400) };
    expect(await estimateRequest(base, '/v1/responses', costOf, routes)).toMatchObject({ inputTokens: 100, outputTokens: 4096 });
    expect(await estimateRequest({ ...base, max_output_tokens: 10 }, '/v1/responses', costOf, routes)).toMatchObject({ outputTokens: 10 });
    expect((await estimateRequest({ ...base, instructions: 'y'.repeat(400), tools: [WEATHER_TOOL] }, '/v1/responses', costOf, routes)).inputTokens).toBeGreaterThan(200);
  });

  test('under a budget, a call without max_output_tokens is capped at the output its reservation assumed; a spent budget is 402', async () => {
    const admin = (path: string, body: unknown, method = 'POST') =>
      fetch(`${front.url}${path}`, { method, headers: { 'content-type': 'application/json', ...ADMIN_AUTH }, body: JSON.stringify(body) });
    expect((await admin('/v1/teams', { id: 'resp-team', name: 'resp-team' })).status).toBe(201);
    const key = (await (await admin('/v1/keys', { team_id: 'resp-team', name: 'resp-member', role: 'member' })).json()) as { id: string; key: string };
    expect((await admin('/v1/budgets', { scope: 'key', scope_id: key.id, period: 'month', limit_usd: '50' }, 'PUT')).status).toBe(201);
    const auth = { authorization: `Bearer ${key.key}` };
    const sentCap = () => upstreamBody(openai.requests.length - 1).max_completion_tokens ?? upstreamBody(openai.requests.length - 1).max_tokens;

    expect((await post({ model: MODEL, input: 'hi' }, { ...auth, 'x-request-id': 'resp-capped' })).status).toBe(200);
    expect(sentCap()).toBe(4096);
    expect((await post({ model: MODEL, input: 'hi', max_output_tokens: 7 }, auth)).status).toBe(200);
    expect(sentCap()).toBe(7);
    const spent = await ledger('resp-capped');
    expect(spent).toEqual([expect.objectContaining({ status: 'ok' })]);

    expect((await admin('/v1/budgets', { scope: 'team', scope_id: 'resp-team', period: 'day', limit_usd: '0' }, 'PUT')).status).toBe(201);
    const before = openai.requests.length;
    const refused = await post({ model: MODEL, input: 'hi', max_output_tokens: 2000 }, auth);
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('budget_exceeded');
    expect(openai.requests.length).toBe(before);
  });

  test('an unknown key is refused 401 on /v1/responses as on chat, before any provider call', async () => {
    const res = await post({ model: MODEL, input: 'hi' }, { authorization: 'Bearer qk_live_nope' });
    expect(res.status).toBe(401);
    expect(openai.requests).toHaveLength(0);
  });
});
