import { assertNoForbiddenFields } from './forbidden-fields.js';

const refusal = (body: unknown) => {
  try {
    assertNoForbiddenFields(body);
  } catch (error) {
    return error as { code: string; details?: unknown; param?: string; message: string };
  }
  return undefined;
};

describe('assertNoForbiddenFields', () => {
  test('refuses redirecting fields at any depth, naming the path (array indexes included)', () => {
    expect(refusal({ model: 'm', api_base: 'http://evil' })).toMatchObject({ code: 'forbidden_field', param: 'api_base' });
    expect(refusal({ model: 'm', extra: { Extra_Headers: { a: 'b' } } })).toMatchObject({ param: 'extra.Extra_Headers' });
    expect(refusal({ messages: [{ role: 'user', content: 'x' }, { role: 'user', content: 'y', base_url: 'http://evil' }] })).toMatchObject({ param: 'messages.1.base_url' });
  });

  test("a tool's JSON schema may name its properties anything", () => {
    const tools = [{ type: 'function', function: { name: 'call_api', parameters: { type: 'object', properties: { headers: { type: 'object' }, api_key: { type: 'string' } } } } }];
    expect(refusal({ model: 'm', messages: [], tools })).toBeUndefined();
    expect(refusal({ model: 'm', response_format: { type: 'json_schema', json_schema: { schema: { properties: { endpoint: { type: 'string' } } } } } })).toBeUndefined();
  });

  test("a request's metadata is the caller's own tags: any key is accepted there, and only there", () => {
    expect(refusal({ model: 'm', input: 'hi', metadata: { endpoint: 'billing', headers: 'x', api_key: 'ticket-7' } })).toBeUndefined();
    expect(refusal({ model: 'm', extra: { metadata: { endpoint: 'x' } } })).toMatchObject({ param: 'extra.metadata.endpoint' });
  });

  test('message text is data: a forbidden word inside a string is not a field', () => {
    expect(refusal({ model: 'm', messages: [{ role: 'user', content: 'set api_base and headers please' }] })).toBeUndefined();
  });

  test('a clean body passes, however deep (the walk stops at 32 levels)', () => {
    let deep: Record<string, unknown> = { ok: true };
    for (let i = 0; i < 40; i++) deep = { next: deep };
    expect(refusal({ model: 'm', deep })).toBeUndefined();
  });
});
