import OpenAI from 'openai';
import { AUTH, citingReply, E2E_ADMIN_KEY, startHarness, waitForDocument, type Harness } from './quire-harness.js';

type Body = { messages: { role: string; content: unknown }[] } & Record<string, unknown>;
const promptOf = (body: Body) => body.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
/** The source number whose block in the answering prompt holds `needle`. */
const sourceWith = (body: Body, needle: string) => promptOf(body).split(/(?=<source id="\d+")/).find((b) => b.includes(needle))?.match(/^<source id="(\d+)"/)?.[1];

/** The gateway as an OpenAI endpoint for a knowledge base: `model: "kb/<collection>"`, real OpenAI client. */
describe('kb/<collection> through /v1/chat/completions', () => {
  let h: Harness;
  let name: string;
  let collectionId: string;
  /** What the fake model says next (citingReply when unset). */
  let next: ((body: Body) => string | { text: string; finishReason: string }) | undefined;
  afterEach(() => {
    next = undefined;
  });
  beforeAll(async () => {
    h = await startHarness({ redis: false, reply: (body: Body) => (next ? next(body) : citingReply(body)) });
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

  const client = () => new OpenAI({ apiKey: E2E_ADMIN_KEY, baseURL: `${h.quire.url}/v1`, maxRetries: 0 });
  const ask = (question: string) => ({ model: `kb/${name}`, messages: [{ role: 'user' as const, content: question }] });
  /** The chat calls the fake provider got from here on (the rewrite's and the answer's). */
  const chatCallsFrom = (before: number) => h.openai.requests.slice(before).filter((r) => r.url?.includes('chat')).map((r) => r.body as Body);

  async function streamed(params: Record<string, unknown>) {
    const stream = await client().chat.completions.create({ ...ask('How long is the laptop warranty?'), ...params, stream: true } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    let text = '';
    let citations: unknown[] | undefined;
    const finishes: string[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      const extra = chunk as unknown as { citations?: unknown[] };
      if (extra.citations) citations = extra.citations;
    }
    return { text, citations, finishes };
  }

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

  test('and in a kb/ stream: before the answer starts as the HTTP error, after it as the error event', async () => {
    h.openai.script.streamErrorAfter(0, tooLong);
    const before = await client()
      .chat.completions.create({ model: `kb/${name}`, stream: true, messages: [{ role: 'user', content: 'How long is the laptop warranty period?' }] })
      .then(() => undefined, (e: unknown) => e);
    expect(before).toBeInstanceOf(OpenAI.BadRequestError);
    expect(before).toMatchObject({ status: 400, code: 'context_length_exceeded', error: { quire_code: 'provider_bad_request' } });
    h.openai.script.streamErrorAfter(3, tooLong);
    const stream = await client().chat.completions.create({ model: `kb/${name}`, stream: true, messages: [{ role: 'user', content: 'How long is the laptop warranty period?' }] });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })().then(() => undefined, (e: unknown) => e);
    expect(text).not.toBe('');
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ code: 'context_length_exceeded', error: { quire_code: 'provider_bad_request' } });
  });

  test('an unknown knowledge base is an OpenAI-shaped 404', async () => {
    await expect(client().chat.completions.create({ model: 'kb/no-such-collection', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 404 });
  });

  describe("a chat request's other fields: passed to the answering model or refused by name, never dropped", () => {
    test('max_tokens, max_completion_tokens, stop, temperature and top_p reach the call that answers', async () => {
      const before = h.openai.requests.length;
      await client().chat.completions.create({ ...ask('How long is the laptop warranty?'), max_tokens: 50, stop: ['months'], temperature: 0.2, top_p: 0.9 });
      const [answering] = chatCallsFrom(before);
      expect(answering).toMatchObject({ temperature: 0.2, top_p: 0.9, stop: ['months'] });
      expect(answering!.max_completion_tokens ?? answering!.max_tokens).toBe(50);
      const streamedBefore = h.openai.requests.length;
      await streamed({ max_completion_tokens: 40, stop: 'months' });
      const [streamedCall] = chatCallsFrom(streamedBefore);
      expect(streamedCall!.max_completion_tokens ?? streamedCall!.max_tokens).toBe(40);
      expect(streamedCall!.stop).toEqual(['months']);
    });

    test.each([
      ['n', { n: 2 }],
      ['logprobs', { logprobs: true, top_logprobs: 2 }],
      ['tool_choice', { tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }], tool_choice: 'required' }],
      ['tools', { tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }] }],
      ['response_format', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } } } }],
      ['response_format', { response_format: { type: 'json_object' } }],
      ['modalities', { modalities: ['text', 'audio'] }],
      ['service_tier', { service_tier: 'flex' }],
      // Refused as the gateway's plain chat refuses them (@quire/contracts chat-request.ts; test/contracts/chat-request-parity.test.ts).
      ['tool_choice', { tool_choice: 'required' }],
      ['web_search_options', { web_search_options: {} }],
      ['messages.1', { messages: [{ role: 'user', content: 'Which laptops?' }, { role: 'function', name: 'lookup', content: '{}' }, { role: 'user', content: 'How long is the laptop warranty?' }] }],
      ['messages.0.function_call', { messages: [{ role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '{}' } }, { role: 'user', content: 'How long is the laptop warranty?' }] }],
      ['user', { user: 123 }],
      ['parallel_tool_calls', { parallel_tool_calls: 'yes' }],
    ])('%s that cannot be honoured is a 400 naming it (%j), streamed or not, before any model call', async (param, extra) => {
      for (const stream of [false, true]) {
        const before = h.openai.requests.length;
        const error = await client()
          .chat.completions.create({ ...ask('How long is the laptop warranty?'), ...extra, stream } as OpenAI.Chat.ChatCompletionCreateParams)
          .then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect(error).toMatchObject({ status: 400, code: 'invalid_request', param });
        expect(h.openai.requests.length).toBe(before);
      }
    });

    test('the values SDKs and chat front ends send by default pass', async () => {
      const completion = await client().chat.completions.create({
        ...ask('How long is the laptop warranty?'),
        n: 1,
        logprobs: false,
        top_logprobs: 0,
        tools: [],
        tool_choice: 'none',
        parallel_tool_calls: true,
        response_format: { type: 'text' },
        modalities: ['text'],
        store: false,
        service_tier: 'auto',
        stop: null,
        max_tokens: null,
        temperature: null,
        user: 'someone',
        metadata: { app: 'x' },
        stream_options: null,
      });
      expect(completion.choices[0]!.message.content).toContain('36 months');
      // tool_choice "none" with tools: the answer never calls one anyway.
      const withTools = await client().chat.completions.create({
        ...ask('How long is the laptop warranty?'),
        tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
        tool_choice: 'none',
      });
      expect(withTools.choices).toHaveLength(1);
    });

    test('tool_choice "auto" without tools passes (nothing to call), and stop "" asks for no stop, as on a plain chat', async () => {
      const before = h.openai.requests.length;
      const completion = await client().chat.completions.create({ ...ask('How long is the laptop warranty?'), tool_choice: 'auto', stop: '' });
      expect(completion.choices[0]!.message.content).toContain('36 months');
      const [answering] = chatCallsFrom(before);
      expect(answering).not.toHaveProperty('stop');
      expect(answering).not.toHaveProperty('tools');
      expect(answering).not.toHaveProperty('tool_choice');
    });

    test("on a follow-up, the rewrite (Quire's own call) gets none of the caller's settings; the answering call gets them", async () => {
      next = (body) => (promptOf(body).startsWith('Rewrite the last user question') ? 'laptop warranty period' : citingReply(body));
      const before = h.openai.requests.length;
      const completion = await client().chat.completions.create({
        model: `kb/${name}`,
        messages: [
          { role: 'user', content: 'Do company laptops have a warranty?' },
          { role: 'assistant', content: 'Yes, a hardware warranty.' },
          { role: 'user', content: 'How long is it?' },
        ],
        max_completion_tokens: 60,
        stop: ['months'],
        temperature: 0.2,
      });
      expect(completion.choices[0]!.message.content).toContain('36 months');
      const calls = chatCallsFrom(before);
      expect(calls).toHaveLength(2);
      const rewrite = calls.find((c) => promptOf(c).startsWith('Rewrite the last user question'));
      const answering = calls.find((c) => c !== rewrite);
      expect(rewrite).toBeDefined();
      for (const field of ['stop', 'max_tokens', 'max_completion_tokens', 'temperature']) expect(rewrite).not.toHaveProperty(field);
      expect(answering).toMatchObject({ stop: ['months'], temperature: 0.2 });
      expect(answering!.max_completion_tokens ?? answering!.max_tokens).toBe(60);
      expect(promptOf(answering!)).toContain('laptop warranty period');
    });
  });

  test("an answer cut at the model's output limit ends with finish_reason 'length', streamed or not, and on /answer", async () => {
    next = () => ({ text: 'The warranty lasts 36 months [1] and in addition the', finishReason: 'length' });
    const completion = await client().chat.completions.create({ ...ask('How long is the laptop warranty?'), max_tokens: 12 });
    expect(completion.choices[0]!.finish_reason).toBe('length');
    expect((await streamed({ max_tokens: 12 })).finishes).toEqual(['length']);
    const res = await fetch(`${h.quire.url}/v1/collections/${collectionId}/answer`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ question: 'How long is the laptop warranty?' }) });
    expect(((await res.json()) as { finish_reason: string }).finish_reason).toBe('length');
    next = undefined;
    expect((await client().chat.completions.create(ask('How long is the laptop warranty?'))).choices[0]!.finish_reason).toBe('stop');
    expect((await streamed({})).finishes).toEqual(['stop']);
  });

  test('streamed deltas add up to the non-streamed answer (leading blank lines and a trailing newline trimmed), citations alike', async () => {
    next = (body) => `\n\nThe warranty lasts 36 months [${sourceWith(body, '36 months')}, 99]. Trains are booked two weeks ahead [${sourceWith(body, 'trains')}].\n`;
    const question = 'How long is the laptop warranty and when to book trains?';
    const json = await client().chat.completions.create(ask(question));
    const sse = await streamed(ask(question));
    const message = json.choices[0]!.message as OpenAI.Chat.ChatCompletionMessage & { citations?: unknown[] };
    expect(message.content).toMatch(/^The warranty .*ahead \[1\]\.$/);
    expect(sse.text).toBe(message.content);
    expect(sse.citations).toEqual(message.citations);
  });

  test('a question sent in several text parts keeps its word boundaries', async () => {
    const before = h.openai.requests.length;
    await client().chat.completions.create({ model: `kb/${name}`, messages: [{ role: 'user', content: [{ type: 'text', text: 'How long is the laptop' }, { type: 'text', text: 'warranty?' }] }] });
    const answering = chatCallsFrom(before).at(-1)!;
    expect(promptOf(answering)).toContain('Question: How long is the laptop warranty?');
  });

  test("a provider's 429 before the answer starts reaches a streamed kb/ chat and a streamed /answer as a 429 with its Retry-After", async () => {
    h.openai.script.failNext(1, { status: 429, headers: { 'retry-after': '7' } });
    const error = await streamed({}).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('7');
    h.openai.script.failNext(1, { status: 429, headers: { 'retry-after': '7' } });
    const res = await fetch(`${h.quire.url}/v1/collections/${collectionId}/answer`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ question: 'How long is the laptop warranty?', stream: true }) });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('provider_rate_limited');
  });

  test('/answer reads a paraphrased "not in the sources" reply as no_answer', async () => {
    next = () => 'The provided sources do not mention a dress code.';
    const res = await fetch(`${h.quire.url}/v1/collections/${collectionId}/answer`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ question: 'What is the dress code?' }) });
    expect(((await res.json()) as { no_answer: boolean }).no_answer).toBe(true);
  });
});
