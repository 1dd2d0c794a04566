import { countTokens, fakeRank, rerankTokens, startFakeTei, type FakeTei } from '@quire/fakes';
import { embedMany } from '../../embed-many.js';
import { createTei } from './tei-provider.js';
import { caught } from '../../testing/provider-test-helpers.js';

const documents = ['Paris is the capital of France.', 'Bananas are yellow.', 'France borders Spain.'];

describe('TEI against the fake', () => {
  let fake: FakeTei;
  const tei = () => createTei({ baseURL: fake.url, maxBatchSize: 4 });

  beforeAll(async () => {
    fake = await startFakeTei({ maxClientBatchSize: 4 });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.script.reset();
    fake.requests.length = 0;
  });

  it('embeds through POST /embed, usage from x-compute-tokens', async () => {
    const result = await tei().embeddingModel('bge-small').doEmbed({ values: ['hello world', 'x'] });
    expect(result.embeddings).toHaveLength(2);
    expect(result.usage).toMatchObject({ inputTokens: 3, reported: true });
    expect(fake.requests[0]).toMatchObject({ path: '/embed', body: { inputs: ['hello world', 'x'], normalize: true, truncate: false } });
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('refuses a dimensions request the model does not produce, instead of answering at its own width', async () => {
    const model = tei().embeddingModel('bge-small');
    const width = (await model.doEmbed({ values: ['x'] })).embeddings[0]!.length;
    expect((await model.doEmbed({ values: ['x'], dimensions: width })).embeddings[0]).toHaveLength(width);
    // The width is known from the first answer: a request for another one is refused before it goes out.
    const sent = fake.requests.length;
    const error = await model.doEmbed({ values: ['x'], dimensions: width - 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'model_capability_unsupported', retryable: false, message: `TEI model "bge-small" produces ${width}-dimensional vectors; ${width - 1} were requested.` });
    expect(fake.requests).toHaveLength(sent);
  });

  it('learns the width from a one-word probe when the first call asks for dimensions, and refuses a mismatch before sending the inputs', async () => {
    const width = (await tei().embeddingModel('bge-small').doEmbed({ values: ['x'] })).embeddings[0]!.length;
    fake.requests.length = 0;
    const model = createTei({ baseURL: fake.url, apiKey: 'tei-key' }).embeddingModel('bge-small');
    const error = await model.doEmbed({ values: ['secret document text'], dimensions: width - 1, headers: { 'x-trace-id': 'trace-7' } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'model_capability_unsupported', retryable: false, message: `TEI model "bge-small" produces ${width}-dimensional vectors; ${width - 1} were requested.` });
    // The fake saw the probe only, sent like the call itself (its headers and key), never the caller's inputs.
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ path: '/embed', body: { inputs: ['a'] } });
    expect(fake.requests[0]?.headers).toMatchObject({ 'x-trace-id': 'trace-7', authorization: 'Bearer tei-key' });
    // The probe's answer is cached like any other: the next mismatch goes nowhere.
    await expect(model.doEmbed({ values: ['x'], dimensions: width + 1 })).rejects.toMatchObject({ code: 'model_capability_unsupported' });
    expect(fake.requests).toHaveLength(1);
  });

  it('a probe that matches lets the call through once, and is not repeated', async () => {
    const width = (await tei().embeddingModel('bge-small').doEmbed({ values: ['x'] })).embeddings[0]!.length;
    fake.requests.length = 0;
    const model = tei().embeddingModel('bge-small');
    expect((await model.doEmbed({ values: ['hello', 'world'], dimensions: width })).embeddings).toHaveLength(2);
    expect((await model.doEmbed({ values: ['again'], dimensions: width })).embeddings).toHaveLength(1);
    expect(fake.requests.map((r) => r.body.inputs)).toEqual([['a'], ['hello', 'world'], ['again']]);
  });

  it('a call that needed a probe reports the probe\'s tokens in its usage, so the ledger meters both', async () => {
    const plain = tei().embeddingModel('bge-small');
    const probeTokens = (await plain.doEmbed({ values: ['a'] })).usage.inputTokens;
    const callTokens = (await plain.doEmbed({ values: ['hello', 'world'] })).usage.inputTokens;
    const width = (await plain.doEmbed({ values: ['x'] })).embeddings[0]!.length;
    const probed = await tei().embeddingModel('bge-small').doEmbed({ values: ['hello', 'world'], dimensions: width });
    expect(probeTokens).toBeGreaterThan(0);
    expect(probed.usage).toMatchObject({ inputTokens: probeTokens + callTokens, reported: true });
  });

  it('the probe follows the call: an aborted signal sends nothing, a failed probe fails the call', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(tei().embeddingModel('bge-small').doEmbed({ values: ['x'], dimensions: 3, abortSignal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(fake.requests).toHaveLength(0);
    fake.script.failNext(1, { status: 429, headers: { 'retry-after': '1' } });
    expect(await caught(tei().embeddingModel('bge-small').doEmbed({ values: ['x'], dimensions: 3 }))).toMatchObject({ code: 'provider_overloaded', retryable: true });
    expect(fake.requests.map((r) => r.body.inputs)).toEqual([['a']]);
  });

  it('splits by the server batch size through embedMany', async () => {
    const values = Array.from({ length: 10 }, (_, i) => `text number ${i}`);
    const result = await embedMany(tei().embeddingModel('bge-small'), values);
    expect(result.embeddings).toHaveLength(10);
    expect(fake.requests.map((r) => r.body.inputs.length)).toEqual([4, 4, 2]);
    expect(result.usage.inputTokens).toBe(values.reduce((s, v) => s + countTokens(v), 0));
  });

  it('reranks and cuts to topN on our side', async () => {
    const query = 'capital of France';
    const result = await tei().rerankingModel('bge-reranker').doRerank({ query, documents, topN: 1 });
    expect(result.results).toEqual([{ index: 0, relevanceScore: fakeRank(query, documents)[0]?.score }]);
    expect(result.usage).toMatchObject({ inputTokens: rerankTokens(query, documents), reported: true });
    expect(fake.requests[0]?.body).toEqual({ query, texts: documents, raw_scores: false, return_text: false, truncate: false });
  });

  it('usage without x-compute-tokens is unreported', async () => {
    const noHeader: typeof fetch = async () => new Response('[[0.1,0.2]]', { status: 200, headers: { 'content-type': 'application/json' } });
    const result = await createTei({ baseURL: 'http://tei.invalid', fetch: noHeader }).embeddingModel('m').doEmbed({ values: ['a'] });
    expect(result.usage.reported).toBe(false);
  });

  it.each([
    [413, 'provider_bad_request', false],
    [422, 'provider_bad_request', false],
    [424, 'provider_server_error', true],
    [429, 'provider_overloaded', true],
    [500, 'provider_server_error', true],
  ])('maps HTTP %i to %s', async (status, code, retryable) => {
    fake.script.failNext(1, { status });
    const error = await caught(tei().embeddingModel('m').doEmbed({ values: ['x'] }));
    expect(error).toMatchObject({ code, retryable, status });
  });

  it('429 overloaded keeps a retry-after hint, and the API key is sent as Bearer', async () => {
    fake.script.failNext(1, { status: 429, headers: { 'retry-after': '1' } });
    const error = await caught(tei().rerankingModel('m').doRerank({ query: 'q', documents }));
    expect(error).toMatchObject({ code: 'provider_overloaded', retryable: true, retryAfterMs: 1000 });
    expect(error.message).toContain('Model is overloaded');
    // Re-read as overloaded, the error keeps a long hint as the hint only, not as a wait to sleep on.
    fake.script.failNext(1, { status: 429, headers: { 'retry-after': '3600' } });
    expect(await caught(tei().embeddingModel('m').doEmbed({ values: ['x'] }))).toMatchObject({ code: 'provider_overloaded', retryAfterMs: undefined, retryAfterHintMs: 3_600_000 });
    await createTei({ baseURL: fake.url, apiKey: 'tei-key' }).embeddingModel('m').doEmbed({ values: ['x'] });
    expect(fake.requests.at(-1)?.headers.authorization).toBe('Bearer tei-key');
  });
});
