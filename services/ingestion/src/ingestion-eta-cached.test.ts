/**
 * The ETA (`progress.eta_seconds`) extrapolates the provider's embedding rate. An edited handbook
 * (40 paragraphs unchanged, 16 new) has 40 chunks served from the embedding cache at once while the
 * new ones wait on the provider: those 40 say nothing of how fast the provider is, so no estimate is
 * given until a provider call has returned, and then it counts only the provider's chunks.
 */
import { gateEmbeddings } from './testing/gate-embeddings.js';
import { startTestIngestion, type TestIngestion } from './testing/test-ingestion.js';

let t: TestIngestion;
beforeAll(async () => {
  // Two provider calls of 8 for the 16 new chunks.
  t = await startTestIngestion('eta-cached', { embedBatchCap: 8 });
});
afterAll(async () => t?.stop());

const para = (i: number, word: string) => `Section ${i} of the handbook (${word}) explains rule number ${i} in plain words for every employee of the company.`;

test('cache hits are not embedding speed: no ETA before a provider call returns, then the provider rate alone', async () => {
  const coll = await t.api.createCollection({ name: 'Handbook', embedding_model: 'openai/text-embedding-3-small', chunking: { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 } });
  const old = Array.from({ length: 40 }, (_, i) => para(i, 'unchanged'));
  const first = await t.api.call(`/v1/collections/${coll.id}/documents`, { json: { text: old.join('\n\n'), title: 'Handbook v1' } });
  expect((await t.api.waitForDocument(first.body.documents[0].id)).status).toBe('ready');

  const gate = gateEmbeddings(t.fake.models, ['FIRSTNEW', 'SECONDNEW']);
  try {
    const added = Array.from({ length: 16 }, (_, i) => para(100 + i, i < 8 ? 'FIRSTNEW' : 'SECONDNEW'));
    const second = await t.api.call(`/v1/collections/${coll.id}/documents`, { json: { text: [...old, ...added].join('\n\n'), title: 'Handbook v2' } });
    const id = second.body.documents[0].id as string;
    await gate.reached('FIRSTNEW');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const held = (await t.api.call(`/v1/documents/${id}`)).body;
    expect(held.progress).toMatchObject({ stage: 'embedding', chunks_total: 56, chunks_embedded: 40 });
    // 40 cache hits in 3 s would have read as 2 s left for 16 chunks; the provider has returned nothing yet.
    expect(held.progress.eta_seconds).toBeNull();

    gate.release('FIRSTNEW');
    await gate.reached('SECONDNEW');
    const after = (await t.api.call(`/v1/documents/${id}`)).body;
    expect(after.progress).toMatchObject({ stage: 'embedding', chunks_embedded: 48 });
    // 8 provider chunks in at least 3 s, 8 left: at least 3 s more (counting the cached 40 made it 1).
    expect(after.progress.eta_seconds).toBeGreaterThanOrEqual(3);
    gate.release('SECONDNEW');
    expect((await t.api.waitForDocument(id)).status).toBe('ready');
  } finally {
    gate.restore();
  }
});
