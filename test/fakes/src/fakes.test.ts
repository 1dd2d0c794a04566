import { cosineSimilarity, countTokens, fakeEmbedding, geminiMissingSignatureBody, SKIP_THOUGHT_SIGNATURE, startFakeAnthropic, startFakeGemini, startFakeOpenAI } from './index.js';

describe('fake helpers', () => {
  it('counts words and punctuation as tokens', () => {
    expect(countTokens('Hello, world!')).toBe(4);
    expect(countTokens('  ')).toBe(0);
    expect(countTokens('café 42')).toBe(2);
  });

  it('embeds deterministically so a planted sentence is the nearest neighbour', () => {
    const docs = [
      'The quarterly report covers revenue and costs.',
      'The secret launch code is purple giraffe.',
      'Meeting notes from the design review.',
      'Our holiday schedule for the winter.',
    ];
    const query = fakeEmbedding('what is the purple giraffe launch code');
    const scores = docs.map((d) => cosineSimilarity(fakeEmbedding(d), query));
    expect(scores.indexOf(Math.max(...scores))).toBe(1);
    expect(fakeEmbedding('Same words')).toEqual(fakeEmbedding('same WORDS'));
    const v = fakeEmbedding('norm check here');
    expect(Math.hypot(...v)).toBeCloseTo(1, 10);
    expect(fakeEmbedding('', 8)).toEqual(new Array(8).fill(0));
  });
});

describe('startFakeOpenAI', () => {
  it('serves models, checks the key and records requests', async () => {
    const fake = await startFakeOpenAI({ apiKey: 'sk-1', models: ['m1'] });
    try {
      const ok = await fetch(`${fake.url}/models`, { headers: { authorization: 'Bearer sk-1' } });
      expect(ok.headers.get('x-ratelimit-reset-tokens')).toBe('6m0s');
      expect(await ok.json()).toEqual({ object: 'list', data: [{ id: 'm1', object: 'model', created: expect.any(Number), owned_by: 'system' }] });
      const missing = await fetch(`${fake.url}/models/nope`, { headers: { authorization: 'Bearer sk-1' } });
      expect(missing.status).toBe(404);
      const denied = await fetch(`${fake.url}/models`);
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models', 'GET /v1/models/nope', 'GET /v1/models']);
    } finally {
      await fake.close();
    }
  });

  it('streams the documented chunk sequence with a usage chunk and [DONE]', async () => {
    const fake = await startFakeOpenAI({ reply: () => 'Hi there.' });
    try {
      const res = await fetch(`${fake.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello!' }], stream: true, stream_options: { include_usage: true } }),
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const events = (await res.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } });
      expect(chunks.slice(0, -1).every((c: { usage: unknown }) => c.usage === null)).toBe(true);
    } finally {
      await fake.close();
    }
  });
});

describe('startFakeAnthropic', () => {
  it('requires anthropic-version and max_tokens, and uses the Anthropic error shape', async () => {
    const fake = await startFakeAnthropic();
    try {
      const post = (headers: Record<string, string>, body: unknown) =>
        fetch(`${fake.url}/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      const noVersion = await post({}, { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
      expect(noVersion.status).toBe(400);
      expect(await noVersion.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' }, request_id: expect.stringMatching(/^req_/) });
      const noMax = await post({ 'anthropic-version': '2023-06-01' }, { model: 'm', messages: [{ role: 'user', content: 'x' }] });
      expect(((await noMax.json()) as { error: { message: string } }).error.message).toContain('max_tokens');
      fake.script.failNext(1, { status: 529 });
      const overloaded = await post({ 'anthropic-version': '2023-06-01' }, {});
      expect(overloaded.status).toBe(529);
      expect(overloaded.headers.get('retry-after')).toBe('1');
      expect(await overloaded.json()).toMatchObject({ error: { type: 'overloaded_error' } });
      const ok = await post({ 'anthropic-version': '2023-06-01' }, { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], stream: true });
      const text = await ok.text();
      expect(text.match(/^event: (\w+)$/gm)?.map((l) => l.slice(7))).toEqual([
        'message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_delta',
        'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
      ]);
      expect(ok.headers.get('anthropic-ratelimit-requests-reset')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    } finally {
      await fake.close();
    }
  });
});

describe('startFakeGemini thought signatures', () => {
  it('signs the first functionCall part, and Gemini 3 refuses a current-turn replay without it as the real API does', async () => {
    const fake = await startFakeGemini({ reply: (body) => (body.contents.at(-1)?.parts?.[0]?.functionResponse ? 'Done.' : { toolCalls: [{ name: 'a', arguments: {} }, { name: 'b', arguments: {} }] }) });
    try {
      const generate = async (model: string, contents: unknown[]) => {
        const res = await fetch(`${fake.url}/models/${model}:generateContent`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contents }) });
        return { status: res.status, body: (await res.json()) as any };
      };
      const ask = { role: 'user', parts: [{ text: 'Go.' }] };
      const answered = { role: 'user', parts: [{ functionResponse: { name: 'a', response: {} } }, { functionResponse: { name: 'b', response: {} } }] };
      const first = await generate('gemini-3-pro-preview', [ask]);
      const parts = first.body.candidates[0].content.parts;
      expect(parts).toEqual([{ functionCall: { name: 'a', args: {} }, thoughtSignature: expect.any(String) }, { functionCall: { name: 'b', args: {} } }]);

      expect((await generate('gemini-3-pro-preview', [ask, { role: 'model', parts }, answered])).status).toBe(200);
      const unsigned = [ask, { role: 'model', parts: parts.map((p: any) => ({ functionCall: p.functionCall })) }, answered];
      expect(await generate('gemini-3-pro-preview', unsigned)).toEqual({ status: 400, body: geminiMissingSignatureBody('a', 2) });
      expect(await generate('gemini-3-pro-preview', [ask, { role: 'model', parts: [{ ...parts[0], thoughtSignature: 'bm9wZQ==' }, parts[1]] }, answered])).toMatchObject({ status: 400, body: { error: { message: 'Corrupted thought signature.' } } });
      // Both documented placeholders pass; 2.5 does not check; turns before the last user text are not checked.
      for (const placeholder of [SKIP_THOUGHT_SIGNATURE, 'context_engineering_is_the_way_to_go']) {
        expect((await generate('gemini-3-pro-preview', [ask, { role: 'model', parts: [{ ...parts[0], thoughtSignature: placeholder }, parts[1]] }, answered])).status).toBe(200);
      }
      expect((await generate('gemini-2.5-flash', unsigned)).status).toBe(200);
      expect((await generate('gemini-3-pro-preview', [...unsigned, { role: 'model', parts: [{ text: 'Done.' }] }, { role: 'user', parts: [{ text: 'Again?' }] }])).status).toBe(200);
    } finally {
      await fake.close();
    }
  });
});
