import { openTestDatabase, type Db } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import { seedCollection, type SeededCollection } from '../testing/seed.js';
import { generateSyntheticCases } from './synthetic.js';

/**
 * A synthetic eval set restates its passages in questions and reference answers, and every reader
 * of the collection's eval sets sees them: only passages every reader may see are sampled.
 */
let db: Db;
let seeded: SeededCollection;
const passage = (what: string) => `${what}: this passage is long enough to be sampled for a synthetic question, eighty characters or more.`;

/** A generator that echoes the passage it was given as the answer. */
const models = {
  generationModel: () => ({
    async doGenerate(options: { messages: { content: string }[] }) {
      const text = options.messages[1]!.content.replace('PASSAGE:\n', '');
      return { text: JSON.stringify({ question: `What does it say about ${text.slice(0, 20)}?`, answer: text }) };
    },
  }),
} as unknown as GatewayModels;

beforeAll(async () => {
  db = await openTestDatabase();
  seeded = await seedCollection(db, {
    teamId: 'team-syn',
    name: 'synthetic',
    embeddingModel: null,
    generationModel: null,
    withIndexVersion: false,
    documents: [
      { title: 'Public', chunks: [{ text: passage('public one') }, { text: passage('public two') }] },
      { title: 'Restricted', chunks: [{ text: passage('restricted one') }, { text: passage('restricted two') }] },
      { title: 'Processing', status: 'processing', chunks: [{ text: passage('processing one') }] },
      { title: 'Pointer', chunks: [{ text: passage('pointer one') }] },
    ],
  });
  await db.query(`UPDATE documents SET access_groups = '{finance}' WHERE id = $1`, [seeded.documentIds[1]]);
  // A swapped-in replacement stays `ready` as a pointer to its document; it is not a document itself.
  await db.query(`UPDATE documents SET replaces_document_id = $2 WHERE id = $1`, [seeded.documentIds[3], seeded.documentIds[0]]);
});

afterAll(async () => {
  await db?.close();
});

test('samples only chunks of ready documents without access groups, never of replacement rows', async () => {
  const cases = await generateSyntheticCases({ db, models }, { collectionId: seeded.collectionId, model: 'fake/gen', count: 50, seed: 7, call: { identityToken: 'x', traceId: 't', collectionId: seeded.collectionId } });
  expect(cases.map((c) => c.relevant[0]!.chunk_id).sort()).toEqual([...seeded.chunkIds[0]!].sort());
  expect(cases.every((c) => c.relevant[0]!.document_id === seeded.documentIds[0])).toBe(true);
  expect(cases.some((c) => /restricted|processing|pointer/.test(`${c.question} ${c.referenceAnswer}`))).toBe(false);
});
