import type { FakeOpenAI } from '@quire/fakes';
import { AppError, type RunningServer } from '@quire/server-kit';
import { startBothDoors, type BothDoors } from '../testing/both-doors.js';
import { ADMIN_AUTH } from '../testing/gateway-harness.js';
import { assertBodyDepth, MAX_BODY_DEPTH } from './body-depth.js';

/** `levels` objects nested in one another, as JSON text (built as text: a value this deep cannot be stringified). */
const nestedJson = (levels: number, key = 'a') => `${`{"${key}":`.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
/** The same as a value, built bottom-up. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return AppError.is(error) ? { code: error.code, param: error.param } : error;
  }
  return undefined;
};

describe('assertBodyDepth', () => {
  test('a body at the limit passes; one level more is invalid_request naming where', () => {
    // The body is level 1, its `a` level 2, and so on.
    expect(errorOf(() => assertBodyDepth(nested(MAX_BODY_DEPTH)))).toBeUndefined();
    expect(errorOf(() => assertBodyDepth(nested(MAX_BODY_DEPTH + 1)))).toEqual({ code: 'invalid_request', param: Array(MAX_BODY_DEPTH).fill('a').join('.') });
    expect(errorOf(() => assertBodyDepth({ model: 'm', input: [1, [2, nested(MAX_BODY_DEPTH)]] }))).toEqual({
      code: 'invalid_request',
      param: ['input', '1', '1', ...Array(MAX_BODY_DEPTH - 3).fill('a')].join('.'),
    });
  });

  test('200,000 levels (what JSON.parse reads, and JSON.stringify cannot write) is refused, not a RangeError; long paths are cut', () => {
    const deep = JSON.parse(nestedJson(200_000, 'level')) as unknown;
    expect(errorOf(() => assertBodyDepth(deep))).toEqual({ code: 'invalid_request', param: `${'level.'.repeat(40).slice(0, 200)}…` });
  });

  test('scalars and wide bodies pass', () => {
    for (const body of [null, 'text', 1, [], { input: Array.from({ length: 100_000 }, (_, i) => `doc ${i}`) }]) {
      expect(errorOf(() => assertBodyDepth(body))).toBeUndefined();
    }
  });
});

describe('over-deep model requests are a 400 on both doors, before admission', () => {
  let doors: BothDoors;
  let openai: FakeOpenAI;

  beforeAll(async () => {
    doors = await startBothDoors();
    ({ openai } = doors);
  });
  afterAll(() => doors?.close());

  const post = (server: RunningServer, path: string, body: string) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...ADMIN_AUTH }, body });

  const DEEP = nestedJson(200_000);
  const deepBodies: [string, string, string][] = [
    [
      '/v1/chat/completions',
      `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${DEEP}}}]}`,
      'tools.0.function.parameters.a.a',
    ],
    ['/v1/responses', `{"model":"openai/gpt-4o-mini","input":"hi","tools":[{"type":"function","name":"f","parameters":${DEEP}}]}`, 'tools.0.parameters.a.a'],
    ['/v1/embeddings', `{"model":"openai/text-embedding-3-small","input":["a"],"metadata":${DEEP}}`, 'metadata.a.a'],
    ['/v1/rerank', `{"model":"openai/gpt-4o-mini","query":"q","documents":[${DEEP}]}`, 'documents.0.a.a'],
  ];

  test.each(deepBodies)('%s: 400 invalid_request naming the path, and no provider call', async (path, body, paramStart) => {
    const before = openai.requests.length;
    for (const server of [doors.front, doors.viaExpress]) {
      const res = await post(server, path, body);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; param: string; message: string } };
      expect(error).toMatchObject({ code: 'invalid_request', param: expect.stringMatching(new RegExp(`^${paramStart.replace(/\./g, '\\.')}`)) });
      expect(error.message).toContain(`deeper than ${MAX_BODY_DEPTH} levels`);
    }
    expect(openai.requests.length).toBe(before);
  });

  test('a normal tool schema, nested objects and arrays included, is still served on both doors', async () => {
    const address = { type: 'object', properties: { street: { type: 'string' }, geo: { type: 'object', properties: { lat: { type: 'number' }, lon: { type: 'number' } } } } };
    const parameters = { type: 'object', properties: { people: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, homes: { type: 'array', items: address } } } } }, required: ['people'] };
    for (const server of [doors.front, doors.viaExpress]) {
      const chat = await post(server, '/v1/chat/completions', JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'save', parameters } }] }));
      expect(chat.status).toBe(200);
      const responses = await post(server, '/v1/responses', JSON.stringify({ model: 'openai/gpt-4o-mini', input: 'hi', tools: [{ type: 'function', name: 'save', parameters }] }));
      expect(responses.status).toBe(200);
    }
  });
});
