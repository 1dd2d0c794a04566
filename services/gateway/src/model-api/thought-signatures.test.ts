import { openTestDatabase, type Db } from '@quire/db';
import { startFakeGemini, startFakeOpenAI, type FakeGemini, type FakeOpenAI } from '@quire/fakes';
import { startHarness, type Harness } from '../testing/gateway-harness.js';

/**
 * Gemini 3 through `POST /v1/chat/completions`: a client that keeps `extra_content` on its tool calls
 * replays Gemini's signatures; tool calls without one (another model's, or a client that drops them)
 * go out with Google's documented placeholder instead of being refused.
 */
let db: Db;
let gemini: FakeGemini;
let openai: FakeOpenAI;
let gateway: Harness;

beforeAll(async () => {
  [db, gemini, openai] = await Promise.all([
    openTestDatabase(),
    startFakeGemini({
      apiKey: 'g-key',
      reply: (body) => (body.contents.at(-1)?.parts?.[0]?.functionResponse ? 'Sunny, 18 degrees.' : { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_time', arguments: {} }] }),
    }),
    startFakeOpenAI({ apiKey: 'sk-test' }),
  ]);
  gateway = await startHarness(db, {
    providers: { openai: openai.url },
    providerConfigs: { gemini: { type: 'gemini', baseURL: gemini.url, apiKey: 'g-key', allowLoopback: true } },
    prices: { 'gemini/gemini-3-pro-preview': { input: '2', output: '12' }, 'openai/gpt-4o-mini': { input: '1', output: '2' } },
    routes: `routes:
  tools-ha:
    targets: [openai/gpt-4o-mini, gemini/gemini-3-pro-preview]
    retry: { maxAttempts: 1 }
`,
  });
});

afterAll(async () => {
  await gateway?.close();
  await gemini?.close();
  await openai?.close();
  await db?.close();
});

interface ToolCall { id: string; type: string; function: { name: string; arguments: string }; extra_content?: { google?: { thought_signature?: string } } }

const tools = [{ type: 'function', function: { name: 'get_weather' } }, { type: 'function', function: { name: 'get_time' } }];
const question = { role: 'user', content: 'Weather and time in Paris?' };
const chat = (messages: unknown[]) => gateway.post('/v1/chat/completions', { model: 'gemini/gemini-3-pro-preview', messages, tools });
const replay = (calls: ToolCall[]) => [question, { role: 'assistant', content: null, tool_calls: calls }, ...calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: '{"ok":true}' }))];

test('the signature comes out as extra_content on the tool call and goes back unchanged; one Gemini never issued is refused', async () => {
  const first = await chat([question]);
  expect(first.status).toBe(200);
  const calls = ((await first.json()) as { choices: { message: { tool_calls: ToolCall[] } }[] }).choices[0]!.message.tool_calls;
  expect(calls[0]?.extra_content).toEqual({ google: { thought_signature: expect.any(String) } });
  expect(calls[1]).not.toHaveProperty('extra_content');

  const second = await chat(replay(calls));
  expect(second.status).toBe(200);
  const answer = ((await second.json()) as { choices: { message: { content: string; extra_content?: unknown } }[] }).choices[0]!.message;
  expect(answer).toMatchObject({ content: 'Sunny, 18 degrees.', extra_content: { google: { thought_signature: expect.any(String) } } });
  expect(gemini.requests.at(-1)?.body.contents[1].parts[0]).toEqual({ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: calls[0]?.extra_content?.google?.thought_signature });

  // A signature Gemini never issued gets its refusal as a client error, not a retried 5xx.
  const before = gemini.requests.length;
  const forged = await chat(replay(calls.map((call, i) => (i === 0 ? { ...call, extra_content: { google: { thought_signature: 'Zm9yZ2Vk' } } } : call))));
  expect(forged.status).toBe(400);
  const refusal = (await forged.json()) as { error: { code: string; message: string } };
  expect(refusal.error.code).toBe('provider_bad_request');
  expect(refusal.error.message).toContain('Corrupted thought signature');
  expect(gemini.requests.length).toBe(before + 1);
});

test('tool calls without extra_content (dropped, or from another model) go to Gemini 3 with the documented placeholder and succeed', async () => {
  const foreign: ToolCall[] = [
    { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    { id: 'call_def', type: 'function', function: { name: 'get_time', arguments: '{}' } },
  ];
  const res = await chat(replay(foreign));
  expect(res.status).toBe(200);
  expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('Sunny, 18 degrees.');
  expect(gemini.requests.at(-1)?.body.contents[1].parts).toEqual([
    { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'skip_thought_signature_validator' },
    { functionCall: { name: 'get_time', args: {} } },
  ]);
});

test('a route that falls back from OpenAI to Gemini 3 finishes a turn whose tool calls OpenAI made', async () => {
  const foreign: ToolCall[] = [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }];
  openai.script.failNext(1, { status: 500 });
  const [openaiBefore, geminiBefore] = [openai.requests.length, gemini.requests.length];
  const res = await gateway.post('/v1/chat/completions', { model: 'tools-ha', messages: replay(foreign), tools });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('Sunny, 18 degrees.');
  expect(openai.requests.length).toBe(openaiBefore + 1);
  expect(gemini.requests.length).toBe(geminiBefore + 1);
  expect(gemini.requests.at(-1)?.body.contents[1].parts).toEqual([{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'skip_thought_signature_validator' }]);
});

test('a streamed answer carries the signature on the tool-call delta, and the replayed turn succeeds', async () => {
  const res = await gateway.post('/v1/chat/completions', { model: 'gemini/gemini-3-pro-preview', messages: [question], tools, stream: true });
  expect(res.status).toBe(200);
  const chunks = (await res.text())
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)) as { choices: { delta: { tool_calls?: (Partial<ToolCall> & { index: number })[] } }[] });
  const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
  const signed = deltas.filter((d) => d.extra_content);
  expect(signed).toHaveLength(1);
  expect(signed[0]).toMatchObject({ index: 0, extra_content: { google: { thought_signature: expect.any(String) } } });
  // Rebuild the calls the way an OpenAI SDK does (by index), keeping extra_content, and finish the turn.
  const calls: ToolCall[] = [];
  for (const d of deltas) {
    const call = (calls[d.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
    if (d.id) call.id = d.id;
    if (d.function?.name) call.function.name = d.function.name;
    call.function.arguments += d.function?.arguments ?? '';
    if (d.extra_content) call.extra_content = d.extra_content;
  }
  expect((await chat(replay(calls))).status).toBe(200);
});
