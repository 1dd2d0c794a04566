import type { Db } from '@quire/db';
import type { Identity } from '@quire/contracts';
import { signIdentity } from '@quire/server-kit';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { seedCollection, type SeededCollection } from '../testing/seed.js';

/**
 * Stored queries and conversations carry text of the documents they drew on (the answer, citation
 * quotes, the rewrite of a follow-up), so they follow the documents' access groups.
 */
const HR: Identity = { team_id: 'team-a', key_id: 'key-hr', role: 'member', groups: ['hr'] };
const HR_TOO: Identity = { team_id: 'team-a', key_id: 'key-hr-2', role: 'member', groups: ['hr'] };
const PLAIN: Identity = { team_id: 'team-a', key_id: 'key-plain', role: 'member', groups: [] };
const ADMIN: Identity = { team_id: 'team-a', key_id: 'key-admin', role: 'admin', groups: [] };

let db: Db;
let harness: RetrievalHarness;
let secret: SeededCollection;

async function call(who: Identity, path: string, body?: unknown) {
  const res = await fetch(`${harness.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(who, SECRET) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : {} };
}

beforeAll(async () => {
  harness = await startRetrievalForTest({
    reply: (o) => {
      const system = String(o.messages[0]?.content ?? '');
      // The rewrite echoes its prompt, as a model may, to show what reaches `rewritten_query` (less the
      // answers' citation markers, which would make it read as an answer and be dropped: looksLikeQuery).
      if (system.startsWith('Rewrite')) return [`rewritten from: ${String(o.messages[1]?.content).replace(/\s*\[\d+\]/g, '').replace(/\s+/g, ' ').slice(0, 500)}`];
      return [JSON.stringify(o.messages).includes('950,000') ? 'The CEO salary is 950,000 euros [1].' : 'The canteen opens at noon [1].'];
    },
    seed: async ({ db }) => {
      secret = await seedCollection(db, {
        teamId: 'team-a',
        name: 'secret',
        embeddingModel: 'fake/embed',
        generationModel: 'fake/gen',
        documents: [
          { title: 'Salaries 2025', chunks: [{ text: 'The CEO salary is 950,000 euros per year plus bonus.', page: 1 }] },
          { title: 'Canteen', chunks: [{ text: 'The canteen opens at noon and serves soup.', page: 1 }] },
        ],
      });
      await db.query(`UPDATE documents SET access_groups = '{hr}' WHERE id = $1`, [secret.documentIds[0]]);
    },
  });
  ({ db } = harness);
});
afterAll(() => harness?.close());

const ask = (who: Identity, question: string, conversationId?: string) =>
  call(who, `/v1/collections/${secret.collectionId}/answer`, { question, ...(conversationId ? { conversation_id: conversationId } : {}) });

test('an answer drawn from a restricted document is readable only by keys that may read the document', async () => {
  const hr = await ask(HR, 'What is the CEO salary?');
  expect(hr.status).toBe(200);
  expect(hr.json.answer).toContain('950,000');
  const id = hr.json.query_id as string;

  const own = await call(HR, `/v1/queries/${id}`);
  expect(own.status).toBe(200);
  expect(own.json.citations[0].quote).toContain('950,000');
  expect((await call(HR_TOO, `/v1/queries/${id}`)).status).toBe(200);

  // Missing, not forbidden: the id must not confirm that such a query exists.
  for (const who of [PLAIN, ADMIN]) {
    const other = await call(who, `/v1/queries/${id}`);
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.json)).not.toContain('950,000');
    expect((await call(who, `/v1/queries/${id}/feedback`, { rating: 'up' })).status).toBe(404);
    // Replay spends money, so a member is refused by role before any lookup (403 says nothing about the id).
    const replay = await call(who, `/v1/queries/${id}/replay`, { configuration: { name: 'replay', mode: 'vector', top_k: 3 } });
    expect(replay.status).toBe(who === PLAIN ? 403 : 404);
    expect(JSON.stringify(replay.json)).not.toContain('950,000');
  }
});

test('a conversation that drew on a restricted document is continued only by keys that may read it', async () => {
  const hr = await ask(HR, 'What is the CEO salary?');
  const conversation = hr.json.conversation_id as string;

  const plain = await ask(PLAIN, 'and the bonus?', conversation);
  expect(plain.status).toBe(404);
  expect(JSON.stringify(plain.json)).not.toContain('950,000');

  const again = await ask(HR, 'and the bonus?', conversation);
  expect(again.status).toBe(200);
  expect(again.json.rewritten_query).toContain('950,000');
  expect((await ask(HR_TOO, 'and per month?', conversation)).status).toBe(200);
});

test('queries that drew only on open documents stay readable by the team', async () => {
  const open = await ask(PLAIN, 'When does the canteen open?');
  expect(open.status).toBe(200);
  // The creator's own retrieval saw only the open document, so teammates read it too.
  expect((await call(HR, `/v1/queries/${open.json.query_id}`)).status).toBe(200);
  expect((await ask(HR, 'and on Sundays?', open.json.conversation_id)).status).toBe(200);
  // An HR key's question whose sources included the salary document is not.
  const mixed = await call(HR, `/v1/collections/${secret.collectionId}/search`, { query: 'canteen salary', mode: 'keyword' });
  expect(mixed.json.results.map((r: any) => r.document_title)).toContain('Salaries 2025');
  expect((await call(PLAIN, `/v1/queries/${mixed.json.query_id}`)).status).toBe(404);
  expect((await call(HR, `/v1/queries/${mixed.json.query_id}`)).status).toBe(200);
});

test('a query whose cited document was deleted since is readable by its key only', async () => {
  const temp = await seedCollection(db, {
    teamId: 'team-a',
    name: 'temp',
    embeddingModel: null,
    generationModel: 'fake/gen',
    documents: [{ title: 'Memo', chunks: [{ text: 'The canteen closes at three on Fridays.', page: 1 }] }],
  });
  const q = await call(PLAIN, `/v1/collections/${temp.collectionId}/answer`, { question: 'When does the canteen close?' });
  expect(q.status).toBe(200);
  await db.query(`DELETE FROM documents WHERE id = $1`, [temp.documentIds[0]]);
  expect((await call(PLAIN, `/v1/queries/${q.json.query_id}`)).status).toBe(200);
  expect((await call(HR, `/v1/queries/${q.json.query_id}`)).status).toBe(404);
});
