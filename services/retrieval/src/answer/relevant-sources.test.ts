import { AnswerResponseSchema, type Identity } from '@quire/contracts';
import { cosineSimilarity, fakeEmbedding } from '@quire/fakes';
import { signIdentity } from '@quire/server-kit';
import type { RetrievedChunk } from '../search/search-pipeline.js';
import type { FakeGatewayModels } from '../testing/fake-gateway-models.js';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { DIMENSIONS, seedCollection, type SeededCollection } from '../testing/seed.js';
import { NO_ANSWER } from './prompt.js';
import { RERANK_RELEVANCE_FLOOR, relevantSources } from './relevant-sources.js';

const chunk = (id: string, scores: RetrievedChunk['scores']): RetrievedChunk => ({
  chunkId: id,
  documentId: 'd',
  documentTitle: 'T',
  text: id,
  pageStart: null,
  pageEnd: null,
  headingPath: [],
  charStart: 0,
  charEnd: 1,
  rank: 1,
  score: 0,
  scores,
});
const ids = (chunks: RetrievedChunk[]) => chunks.map((c) => c.chunkId);

describe('which retrieved chunks are sources', () => {
  test('with a reranker: none far below the floor and the best, and none at all when even the best is below the floor', () => {
    const floor = RERANK_RELEVANCE_FLOOR;
    const hits = [chunk('best', { rerank: 0.92, keyword: 3 }), chunk('fair', { rerank: 0.2 }), chunk('at-floor', { rerank: floor }), chunk('noise', { rerank: 0.0004, keyword: 5, vector: 0.8 })];
    // The rerank score decides, even against a keyword match and a high similarity.
    expect(ids(relevantSources(hits))).toEqual(['best', 'fair', 'at-floor']);
    // A reranker whose scores run low keeps what is near its best, and drops what is ten times below.
    const low = [chunk('a', { rerank: 0.03 }), chunk('b', { rerank: floor * 0.5 }), chunk('c', { rerank: 0.002 })];
    expect(ids(relevantSources(low))).toEqual(['a', 'b']);
    expect(relevantSources([chunk('a', { rerank: floor * 0.9, keyword: 2 }), chunk('b', { rerank: 0.00001 })])).toEqual([]);
    // A chunk the reranker left unscored is judged like any unreranked one.
    expect(ids(relevantSources([chunk('a', { rerank: 0.5 }), chunk('left-out', { fused: 0.01, vector: 0.3 })]))).toEqual(['a', 'left-out']);
  });

  test('without a reranker: only a chunk no keyword matched and no more similar than orthogonal', () => {
    const hits = [
      chunk('both', { keyword: 4.2, vector: 0.61, fused: 0.03 }),
      chunk('keyword-only', { keyword: 0.4, fused: 0.016 }),
      chunk('faint', { vector: 0.02, fused: 0.015 }),
      chunk('orthogonal', { vector: 0, fused: 0.015 }),
      chunk('opposite', { vector: -0.1 }),
      chunk('zero-vector', { vector: Number.NaN }),
      chunk('keyword-mode', { keyword: 1.1 }),
    ];
    // A low similarity is no reason: its scale depends on the embedding model.
    expect(ids(relevantSources(hits))).toEqual(['both', 'keyword-only', 'faint', 'keyword-mode']);
  });
});

const WHO: Identity = { team_id: 'team-a', key_id: 'key-a', role: 'member', groups: [] };
const QUESTION = 'When is high tide at Port Zephyr?';
const TIDE = 'High tide at Port Zephyr arrives at 5pm every Tuesday.';
const FERRIES = 'Port Zephyr ferries leave hourly from pier two.';
const GARLIC = 'Plant garlic cloves in autumn for a summer harvest.';
const SLUGS = 'Slugs can be deterred with copper tape around beds.';

let harness: RetrievalHarness;
let models: FakeGatewayModels;
let plain: SeededCollection;
let reranked: SeededCollection;

/** Asks for an answer; `sources` are the texts of the chunks its query row says went into the prompt. */
async function ask(seeded: SeededCollection, body: Record<string, unknown>) {
  const texts = new Map(seeded.chunkIds.flat().map((id, i) => [id, [TIDE, FERRIES, GARLIC, SLUGS][i]!]));
  const res = await fetch(`${harness.url}/v1/collections/${seeded.collectionId}/answer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(WHO, SECRET) },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  const answer = AnswerResponseSchema.parse(await res.json());
  const stored = (await (await fetch(`${harness.url}/v1/queries/${answer.query_id}`, { headers: { 'x-quire-identity': signIdentity(WHO, SECRET) } })).json()) as { results: { chunk_id: string }[] };
  return { answer, sources: stored.results.map((r) => texts.get(r.chunk_id)) };
}

/** The generator records each answer prompt's user message and replies with the given text. */
function replying(text: string): string[] {
  const prompts: string[] = [];
  models.reply = (options) => {
    prompts.push(String(options.messages.at(-1)!.content));
    return [text];
  };
  return prompts;
}

const generateCalls = () => models.calls.filter((c) => c.purpose === 'generate').length;

beforeAll(async () => {
  harness = await startRetrievalForTest({
    seed: async ({ db }) => {
      const documents = [
        { title: 'Harbour', chunks: [{ text: TIDE, page: 1 }, { text: FERRIES, page: 2 }] },
        { title: 'Garden', chunks: [{ text: GARLIC, page: 1 }, { text: SLUGS, page: 2 }] },
      ];
      plain = await seedCollection(db, { teamId: 'team-a', name: 'plain', embeddingModel: 'fake/embed', generationModel: 'fake/gen', documents });
      reranked = await seedCollection(db, { teamId: 'team-a', name: 'reranked', embeddingModel: 'fake/embed', generationModel: 'fake/gen', documents });
      await db.query(`UPDATE collections SET rerank_model = 'fake/rerank' WHERE id = $1`, [reranked.collectionId]);
    },
  });
  ({ models } = harness);
});
afterAll(() => harness?.close());

describe('the sources of an answer', () => {
  test('leave out chunks that only filled top_k, and number the rest for citations', async () => {
    // The garden chunks share no term with the question, and (with the fake embedder) no dimension.
    for (const text of [GARLIC, SLUGS]) expect(cosineSimilarity(fakeEmbedding(QUESTION, DIMENSIONS), fakeEmbedding(text, DIMENSIONS))).toBe(0);
    const prompts = replying('High tide is at 5pm on Tuesdays [1]; ferries leave hourly [2] and garlic goes in in autumn [3].');
    const { answer, sources } = await ask(plain, { question: QUESTION, top_k: 4, mode: 'hybrid' });
    expect(sources).toEqual([TIDE, FERRIES]);
    expect(prompts[0]).toContain('<source id="2"');
    expect(prompts[0]).not.toContain('<source id="3"');
    expect(prompts[0]).not.toContain('garlic');
    // [3] named a chunk that is no source: the marker goes, and the citations are the two sources.
    expect(answer.answer).toBe('High tide is at 5pm on Tuesdays [1]; ferries leave hourly [2] and garlic goes in in autumn.');
    expect(answer.citations.map((c) => [c.index, c.quote])).toEqual([
      [1, TIDE],
      [2, FERRIES],
    ]);
  });

  test('with a reranker, leave out what it scores as unrelated', async () => {
    const prompts = replying('High tide is at 5pm on Tuesdays [1].');
    // The ferries chunk matches "Port Zephyr", but the reranker reads it as off the question.
    models.rerank = (_q, docs) => docs.map((d) => (d === TIDE ? 0.87 : d === FERRIES ? 0.002 : 0.00003));
    const some = await ask(reranked, { question: QUESTION, top_k: 4 });
    expect(some.sources).toEqual([TIDE]);
    expect(prompts[0]).not.toContain('<source id="2"');
    expect(some.answer.citations.map((c) => c.quote)).toEqual([TIDE]);
  });

  test('with a reranker that finds nothing relevant, answer as when nothing was found: without the model', async () => {
    replying('High tide is at 5pm on Tuesdays [1].');
    models.rerank = (_q, docs) => docs.map(() => 0.0001);
    const before = generateCalls();
    const none = await ask(reranked, { question: QUESTION, top_k: 4 });
    expect(none.answer).toMatchObject({ answer: NO_ANSWER, citations: [], no_answer: true });
    expect(none.sources).toEqual([]);
    expect(generateCalls()).toBe(before);
  });
});
