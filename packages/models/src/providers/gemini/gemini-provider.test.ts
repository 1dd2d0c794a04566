import { countTokens, startFakeGemini, type FakeGemini } from '@quire/fakes';
import type { MessageV1, StreamPartV1, ToolCallV1 } from '../../spec/generation/generation-model-v1.js';
import { geminiErrorFromResponse, parseRetryDelayHintMs, parseRetryDelayMs } from './gemini-error.js';
import { createGemini } from './gemini-provider.js';
import { requiresThoughtSignatures, SKIP_THOUGHT_SIGNATURE_VALIDATOR } from './gemini-thought-signature.js';
import { collect, caught, collectUntilError } from '../../testing/provider-test-helpers.js';

/** The fake's signatures are opaque; the Gemini 3 tests below prove they come back byte for byte. */
const signed = { google: { thoughtSignature: expect.any(String) } };

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Weather in Paris?' },
];

describe('Gemini against the fake', () => {
  let fake: FakeGemini;
  let mode: 'text' | 'tool' | 'thinking' = 'text';
  const gemini = () => createGemini({ baseURL: fake.url, apiKey: 'g-key' });

  beforeAll(async () => {
    fake = await startFakeGemini({
      apiKey: 'g-key',
      reply: () => {
        if (mode === 'tool') return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_time', arguments: { zone: 'CET' } }] };
        if (mode === 'thinking') return { text: 'Sunny.', reasoning: 'Check the sky.', usage: { cachedTokens: 3, reasoningTokens: 11 } };
        return 'It is 18 degrees.';
      },
    });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    mode = 'text';
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('generates with systemInstruction, user/model roles, generationConfig and the key header', async () => {
    const result = await gemini().chatModel('gemini-2.5-flash').doGenerate({ messages, maxOutputTokens: 64, temperature: 0.1, stop: ['END'], responseFormat: { type: 'json_object' } });
    expect(result).toMatchObject({ text: 'It is 18 degrees.', finishReason: 'stop', toolCalls: [], responseModelId: 'gemini-2.5-flash', requestId: expect.stringMatching(/^fake-gemini-/) });
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: countTokens('It is 18 degrees.'), cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true });
    const [request] = fake.requests;
    expect(request?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(request?.headers['x-goog-api-key']).toBe('g-key');
    expect(request?.url).not.toContain('key=');
    expect(request?.body).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [{ role: 'user', parts: [{ text: 'Weather in Paris?' }] }],
      generationConfig: { maxOutputTokens: 64, temperature: 0.1, stopSequences: ['END'], responseMimeType: 'application/json' },
    });
  });

  it('streams over SSE without [DONE], keeping the last usageMetadata', async () => {
    const { stream } = await gemini().chatModel('gemini-2.5-flash').doStream({ messages });
    const parts = await collect(stream);
    expect(parts.filter((p) => p.type === 'text-delta').map((p) => (p.type === 'text-delta' ? p.text : '')).join('')).toBe('It is 18 degrees.');
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expect.objectContaining({ inputTokens: 7, outputTokens: 5, reported: true }) });
    expect(fake.requests[0]?.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('declares functions, maps tool choice and returns functionCall parts as tool calls', async () => {
    mode = 'tool';
    const model = gemini().chatModel('gemini-2.5-flash');
    const tools = [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, additionalProperties: false } }, { name: 'get_time' }];
    const result = await model.doGenerate({ messages, tools, toolChoice: { name: 'get_weather' } });
    expect(result.finishReason).toBe('tool_calls');
    // Only the first of parallel calls is signed, as the real API does.
    expect(result.toolCalls).toEqual([
      { id: 'call_0', name: 'get_weather', arguments: '{"city":"Paris"}', providerMetadata: signed },
      { id: 'call_1', name: 'get_time', arguments: '{"zone":"CET"}' },
    ]);
    expect(result.providerMetadata).toBeUndefined();
    expect(fake.requests[0]?.body.tools).toEqual([
      { functionDeclarations: [{ name: 'get_weather', description: 'Weather', parametersJsonSchema: tools[0]?.parameters }, { name: 'get_time' }] },
    ]);
    expect(fake.requests[0]?.body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } });

    const parts = await collect((await model.doStream({ messages, tools })).stream);
    expect(parts.filter((p) => p.type === 'tool-call-delta')).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_0', name: 'get_weather', argumentsDelta: '{"city":"Paris"}', providerMetadata: signed },
      { type: 'tool-call-delta', index: 1, id: 'call_1', name: 'get_time', argumentsDelta: '{"zone":"CET"}' },
    ]);
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls' });
    expect(parts.at(-1)).not.toHaveProperty('providerMetadata');
  });

  it('sends tool calls back as functionCall/functionResponse parts, merged by role, signatures on their parts', async () => {
    await gemini().chatModel('gemini-2.5-flash').doGenerate({
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: 'Checking.',
          providerMetadata: { google: { thoughtSignature: 'text-sig' } },
          toolCalls: [
            { id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}', providerMetadata: { google: { thoughtSignature: 'sig-1' } } },
            // Another vendor's metadata is not Gemini's to send.
            { id: 'c2', name: 'get_time', arguments: '{}', providerMetadata: { anthropic: { thoughtSignature: 'not-ours' } } },
          ],
        },
        { role: 'tool', toolCallId: 'c1', content: '{"tempC":18}' },
        { role: 'tool', toolCallId: 'c2', content: '12:00' },
      ],
    });
    expect(fake.requests[0]?.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather?' }] },
      {
        role: 'model',
        parts: [
          { text: 'Checking.', thoughtSignature: 'text-sig' },
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'sig-1' },
          { functionCall: { name: 'get_time', args: {} } },
        ],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { tempC: 18 } } }, { functionResponse: { name: 'get_time', response: { result: '12:00' } } }] },
    ]);
  });

  it('adds thoughts to output, reports cached tokens and separates thought text', async () => {
    mode = 'thinking';
    const expected = { inputTokens: 7, outputTokens: 2 + 11, cachedInputTokens: 3, cacheWriteInputTokens: 0, reasoningTokens: 11, searchUnits: 0, reported: true };
    const result = await gemini().chatModel('gemini-2.5-flash').doGenerate({ messages });
    expect(result).toMatchObject({ text: 'Sunny.', reasoning: 'Check the sky.', usage: expected });
    const parts = await collect((await gemini().chatModel('gemini-2.5-flash').doStream({ messages })).stream);
    expect(parts[0]).toEqual({ type: 'reasoning-delta', text: 'Check the sky.' });
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'stop', usage: expected });
  });

  it('embeds through batchEmbedContents with task type and dimensions', async () => {
    const result = await gemini().embeddingModel('gemini-embedding-001').doEmbed({ values: ['alpha beta', 'gamma'], inputType: 'query', dimensions: 16 });
    expect(result.embeddings.map((e) => e.length)).toEqual([16, 16]);
    expect(result.usage).toMatchObject({ inputTokens: 4, reported: false });
    expect(fake.requests[0]?.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(fake.requests[0]?.body.requests[0]).toEqual({ model: 'models/gemini-embedding-001', content: { parts: [{ text: 'alpha beta' }] }, taskType: 'RETRIEVAL_QUERY', outputDimensionality: 16 });
  });

  it.each([
    [400, 'provider_bad_request', false],
    [403, 'provider_permission_denied', false],
    [404, 'provider_model_not_found', false],
    [500, 'provider_server_error', true],
    [503, 'provider_overloaded', true],
    [504, 'provider_timeout', true],
  ])('maps HTTP %i to %s', async (status, code, retryable) => {
    fake.script.failNext(1, { status });
    const error = await caught(gemini().chatModel('gemini-2.5-flash').doGenerate({ messages }));
    expect(error).toMatchObject({ code, retryable, status });
  });

  it('429 RESOURCE_EXHAUSTED takes its retry hint from RetryInfo.retryDelay', async () => {
    fake.script.failNext(1, { status: 429 });
    const error = await caught(gemini().chatModel('gemini-2.5-flash').doGenerate({ messages }));
    expect(error).toMatchObject({ code: 'provider_rate_limited', retryable: true, retryAfterMs: 7000, status: 429 });
    expect(error.message).toContain('RESOURCE_EXHAUSTED');
    expect(parseRetryDelayMs({ error: { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.5s' }] } })).toBe(1500);
    const daily = { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded.', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3600s' }] } };
    expect(parseRetryDelayMs(daily)).toBeUndefined();
    // Too long to wait for in process, but kept as the hint, so a route moves on and the client hears when to come back.
    expect(parseRetryDelayHintMs(daily)).toBe(3_600_000);
    expect(geminiErrorFromResponse('gemini', 429, {}, daily)).toMatchObject({ retryAfterMs: undefined, retryAfterHintMs: 3_600_000 });
  });

  it('an invalid key (400 API_KEY_INVALID) is an auth failure; errors on embeddings map the same way', async () => {
    const bad = createGemini({ baseURL: fake.url, apiKey: 'wrong' });
    expect(await caught(bad.chatModel('gemini-2.5-flash').doGenerate({ messages }))).toMatchObject({ code: 'provider_auth_failed', status: 400, retryable: false });
    fake.script.failNext(1, { status: 429 });
    expect(await caught(gemini().embeddingModel('gemini-embedding-001').doEmbed({ values: ['x'] }))).toMatchObject({ code: 'provider_rate_limited', retryAfterMs: 7000 });
  });

  it('a mid-stream error chunk is thrown with its own status', async () => {
    fake.script.streamErrorAfter(1, { type: 'UNAVAILABLE', message: 'overloaded' });
    const error = await caught(collect((await gemini().chatModel('gemini-2.5-flash').doStream({ messages })).stream));
    expect(error).toMatchObject({ code: 'provider_server_error', retryable: true });
    expect(error.message).toContain('overloaded');
  });

  it('a stream whose body ends before any finishReason is a retryable network error, not a short answer', async () => {
    fake.script.cutStreamAfter(1, { mode: 'end' });
    const { parts, error } = await collectUntilError((await gemini().chatModel('gemini-2.5-flash').doStream({ messages })).stream);
    expect(parts.map((p) => p.type)).toEqual(['text-delta']);
    expect(error).toMatchObject({ code: 'provider_network_error', retryable: true });
  });
});

/** Tool calls put back together from stream deltas, the way a client keeps them for the next turn. */
function toolCallsFrom(parts: StreamPartV1[]): ToolCallV1[] {
  const calls: ToolCallV1[] = [];
  for (const part of parts) {
    if (part.type !== 'tool-call-delta') continue;
    const call = (calls[part.index] ??= { id: part.id ?? '', name: part.name ?? '', arguments: '' });
    call.arguments += part.argumentsDelta;
    if (part.providerMetadata) call.providerMetadata = part.providerMetadata;
  }
  return calls;
}

describe('Gemini 3 thought signatures across a tool-call turn', () => {
  let fake: FakeGemini;
  const model = () => createGemini({ baseURL: fake.url, apiKey: 'g-key' }).chatModel('gemini-3-pro-preview');
  const tools = [{ name: 'get_weather' }, { name: 'get_time' }];
  const question: MessageV1 = { role: 'user', content: 'Weather and time in Paris?' };
  const results = (calls: ToolCallV1[]): MessageV1[] => calls.map((call) => ({ role: 'tool', toolCallId: call.id, content: '{"ok":true}' }));
  const withoutSignatures = (calls: ToolCallV1[]): ToolCallV1[] => calls.map(({ providerMetadata: _dropped, ...call }) => call);

  beforeAll(async () => {
    fake = await startFakeGemini({
      apiKey: 'g-key',
      // Calls two tools in parallel, then answers once their results are in.
      reply: (body) => (body.contents.at(-1)?.parts?.[0]?.functionResponse ? 'Sunny, 18 degrees, 12:00.' : { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_time', arguments: { zone: 'CET' } }] }),
    });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.requests.length = 0;
  });

  it('generate: the signature comes back on the call, is replayed unchanged on its functionCall part, and the turn succeeds', async () => {
    const first = await model().doGenerate({ messages: [question], tools });
    expect(first.toolCalls).toEqual([expect.objectContaining({ name: 'get_weather', providerMetadata: signed }), expect.not.objectContaining({ providerMetadata: expect.anything() })]);
    const signature = first.toolCalls[0]?.providerMetadata?.google?.thoughtSignature;

    const history: MessageV1[] = [question, { role: 'assistant', content: null, toolCalls: first.toolCalls }, ...results(first.toolCalls)];
    const second = await model().doGenerate({ messages: history, tools });
    expect(second).toMatchObject({ text: 'Sunny, 18 degrees, 12:00.', finishReason: 'stop', providerMetadata: signed });
    expect(fake.requests[1]?.body.contents[1].parts).toEqual([
      { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: signature },
      { functionCall: { name: 'get_time', args: { zone: 'CET' } } },
    ]);

  });

  it('stream: the signature rides on the first tool-call delta, and a replay built from the deltas succeeds', async () => {
    const first = await collect((await model().doStream({ messages: [question], tools })).stream);
    const calls = toolCallsFrom(first);
    expect(calls[0]?.providerMetadata).toEqual(signed);
    expect(calls[1]?.providerMetadata).toBeUndefined();

    const history: MessageV1[] = [question, { role: 'assistant', content: null, toolCalls: calls }, ...results(calls)];
    const second = await collect((await model().doStream({ messages: history, tools })).stream);
    expect(second.filter((p) => p.type === 'text-delta').map((p) => (p.type === 'text-delta' ? p.text : '')).join('')).toBe('Sunny, 18 degrees, 12:00.');
    // A text answer's signature arrives on the last chunk's empty part, so it comes with `finish`.
    expect(second.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', providerMetadata: signed });

    // Next turn: the answer's text signature goes back on its text part.
    const finish = second.at(-1);
    const textMetadata = finish?.type === 'finish' ? finish.providerMetadata : undefined;
    await model().doGenerate({ messages: [...history, { role: 'assistant', content: 'Sunny, 18 degrees, 12:00.', providerMetadata: textMetadata }, { role: 'user', content: 'Thanks!' }] });
    expect(fake.requests.at(-1)?.body.contents.at(-2)).toEqual({ role: 'model', parts: [{ text: 'Sunny, 18 degrees, 12:00.', thoughtSignature: textMetadata?.google?.thoughtSignature }] });

    // Unsigned calls (as from another model) stream too: the first one carries the placeholder.
    const unsigned: MessageV1[] = [question, { role: 'assistant', content: null, toolCalls: withoutSignatures(calls) }, ...results(calls)];
    expect((await collect((await model().doStream({ messages: unsigned, tools })).stream)).at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    expect(fake.requests.at(-1)?.body.contents[1].parts[0].thoughtSignature).toBe(SKIP_THOUGHT_SIGNATURE_VALIDATOR);
  });

  it('tool calls from another model get the documented placeholder on the first call of each current-turn step, and Gemini 3 accepts them', async () => {
    const signedStep = (await model().doGenerate({ messages: [question], tools })).toolCalls;
    const signature = signedStep[0]?.providerMetadata?.google?.thoughtSignature;
    const foreign: ToolCallV1[] = [
      { id: 'o2', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'o3', name: 'get_time', arguments: '{"zone":"CET"}', providerMetadata: { openai: { itemId: 'fc_1' } } },
    ];
    const history: MessageV1[] = [
      // An earlier turn, which Gemini does not check: left as it was.
      { role: 'user', content: 'Weather in Rome?' },
      { role: 'assistant', content: null, toolCalls: [{ id: 'o1', name: 'get_weather', arguments: '{"city":"Rome"}' }] },
      { role: 'tool', toolCallId: 'o1', content: '{"ok":true}' },
      { role: 'assistant', content: 'Sunny in Rome.' },
      // The current turn: one step from another model, then one from Gemini 3 with its real signature.
      question,
      { role: 'assistant', content: 'Let me check.', toolCalls: foreign },
      ...results(foreign),
      { role: 'assistant', content: null, toolCalls: signedStep },
      ...results(signedStep),
    ];
    const answer = await model().doGenerate({ messages: history, tools });
    expect(answer).toMatchObject({ text: 'Sunny, 18 degrees, 12:00.', finishReason: 'stop' });
    const contents = fake.requests.at(-1)?.body.contents;
    expect(contents[1]).toEqual({ role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Rome' } } }] });
    expect(contents[5]).toEqual({
      role: 'model',
      parts: [
        { text: 'Let me check.' },
        { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: SKIP_THOUGHT_SIGNATURE_VALIDATOR },
        { functionCall: { name: 'get_time', args: { zone: 'CET' } } },
      ],
    });
    expect(contents[7]).toEqual({
      role: 'model',
      parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: signature }, { functionCall: { name: 'get_time', args: { zone: 'CET' } } }],
    });

    // Gemini 2.5 does not check signatures, so it gets the history without placeholders.
    await createGemini({ baseURL: fake.url, apiKey: 'g-key' }).chatModel('gemini-2.5-flash').doGenerate({ messages: history, tools });
    expect(JSON.stringify(fake.requests.at(-1)?.body)).not.toContain(SKIP_THOUGHT_SIGNATURE_VALIDATOR);
  });

  it.each([
    ['gemini-3-pro-preview', true],
    ['models/gemini-3-flash-preview', true],
    ['gemini-3.1-pro-preview', true],
    ['gemini-2.5-flash', false],
    ['gemini-2.0-flash', false],
  ])('%s requires thought signatures: %s', (id, expected) => {
    expect(requiresThoughtSignatures(id)).toBe(expected);
  });

  it('a signature the server never issued is refused too (it must be replayed unchanged)', async () => {
    const first = await model().doGenerate({ messages: [question], tools });
    const forged = first.toolCalls.map((call, i) => (i === 0 ? { ...call, providerMetadata: { google: { thoughtSignature: 'Zm9yZ2Vk' } } } : call));
    const error = await caught(model().doGenerate({ messages: [question, { role: 'assistant', content: null, toolCalls: forged }, ...results(first.toolCalls)], tools }));
    expect(error).toMatchObject({ code: 'provider_bad_request', status: 400 });
    expect(error.message).toContain('Corrupted thought signature');
  });
});
