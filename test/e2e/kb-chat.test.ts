import OpenAI from 'openai';
import { AUTH, E2E_ADMIN_KEY, startHarness, waitForDocument, type Harness } from './quire-harness.js';

/** The gateway as an OpenAI endpoint for a knowledge base: `model: "kb/<collection>"`, real OpenAI client. */
describe('kb/<collection> through /v1/chat/completions', () => {
  let h: Harness;
  let name: string;
  let collectionId: string;
  beforeAll(async () => {
    h = await startHarness({ redis: false });
    name = `Handbook ${Date.now()}`;
    const base = h.quire.url;
    const created = await fetch(`${base}/v1/collections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTH },
      body: JSON.stringify({ name, embedding_model: 'openai/text-embedding-3-small', generation_model: 'openai/gpt-4o-mini' }),
    });
    const collection = (await created.json()) as { id: string };
    collectionId = collection.id;
    const form = new FormData();
    const text = 'Equipment. Every laptop comes with a hardware warranty. The warranty period for company laptops is 36 months from delivery.\n\nTravel. Book trains two weeks ahead.';
    form.append('file', new Blob([text], { type: 'text/plain' }), 'handbook.txt');
    const uploaded = await fetch(`${base}/v1/collections/${collection.id}/documents`, { method: 'POST', headers: AUTH, body: form });
    const [queued] = ((await uploaded.json()) as { documents: { id: string }[] }).documents;
    expect((await waitForDocument(base, queued!.id)).status).toBe('ready');
  }, 90_000);
  afterAll(async () => {
    await h?.stop();
  });

  const client = () => new OpenAI({ apiKey: E2E_ADMIN_KEY, baseURL: `${h.quire.url}/v1` });

  test('non-streaming: an OpenAI completion whose message carries citations', async () => {
    const completion = await client().chat.completions.create({
      model: `kb/${name}`,
      messages: [{ role: 'user', content: 'How long is the laptop warranty?' }],
    });
    expect(completion.object).toBe('chat.completion');
    const message = completion.choices[0]!.message as OpenAI.Chat.ChatCompletionMessage & { citations?: { document_id: string; quote: string }[] };
    expect(message.content).toContain('36 months');
    expect(message.citations).toHaveLength(1);
    expect(message.citations![0]!.quote).toContain('36 months');
  });

  test('streaming: deltas add up to the answer and the last chunk carries the citations', async () => {
    const stream = await client().chat.completions.create({
      model: `kb/${name}`,
      stream: true,
      messages: [{ role: 'user', content: 'How long is the laptop warranty?' }],
    });
    let text = '';
    let citations: unknown[] | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      const extra = chunk as unknown as { citations?: unknown[] };
      if (extra.citations) citations = extra.citations;
    }
    expect(text).toContain('36 months');
    expect(citations).toHaveLength(1);
  });

  test("a provider's 429 reaches a platform caller with its Retry-After, through retrieval and the gateway's proxy", async () => {
    h.openai.script.failNext(1, { status: 429, headers: { 'retry-after': '7' } });
    const res = await fetch(`${h.quire.url}/v1/collections/${collectionId}/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTH },
      body: JSON.stringify({ query: 'warranty period', mode: 'vector' }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('provider_rate_limited');
  });

  // A provider's code for a request's fault reaches a kb/ chat as it reaches a plain chat (model-errors.ts modelErrorResponse).
  const tooLong = { type: 'invalid_request_error', code: 'context_length_exceeded', message: "This model's maximum context length is 128000 tokens." };

  test("a provider's request-fault code reaches a kb/ chat as err.code, with Quire's as quire_code", async () => {
    h.openai.script.failNext(1, { status: 400, body: { error: { ...tooLong, param: 'input' } } });
    const error = await client().chat.completions.create({ model: `kb/${name}`, messages: [{ role: 'user', content: 'Which laptops have a warranty?' }] }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    // The param points into retrieval's own call, not the caller's request: not passed on.
    expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded', param: null, error: { quire_code: 'provider_bad_request' } });
  });

  test('and in a kb/ stream, as the error event', async () => {
    h.openai.script.streamErrorAfter(0, tooLong);
    const stream = await client().chat.completions.create({ model: `kb/${name}`, stream: true, messages: [{ role: 'user', content: 'How long is the laptop warranty period?' }] });
    const error = await (async () => {
      for await (const _chunk of stream) { /* read to the error */ }
    })().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ code: 'context_length_exceeded', error: { quire_code: 'provider_bad_request' } });
  });

  test('an unknown knowledge base is an OpenAI-shaped 404', async () => {
    await expect(client().chat.completions.create({ model: 'kb/no-such-collection', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 404 });
  });
});
