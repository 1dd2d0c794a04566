import { randomUUID } from 'node:crypto';
import type { Identity } from '@quire/contracts';
import type { Db } from '@quire/db';
import { forgetCollectionQueries, redactQueriesOfDocuments } from '@quire/stored-queries';
import { signIdentity } from '@quire/server-kit';
import { appendTurns, loadHistory } from '../answer/conversation.js';
import type { FakeGatewayModels } from '../testing/fake-gateway-models.js';
import { SECRET, startRetrievalForTest, type RetrievalHarness } from '../testing/retrieval-harness.js';
import { seedCollection, type SeededCollection } from '../testing/seed.js';
import { insertQuery } from './query-repository.js';

/** The planted figure as the text says it: a bare '417' also turns up in uuids (…-417d-…). */
const PLANTED = /417 euros|is 417/;

/**
 * Stored queries and conversations hold text of the documents they drew on, so they can be deleted,
 * go with their collection, lose that text when a document is deleted or replaced, and age out.
 */
const ASKER: Identity = { team_id: 'team-a', key_id: 'key-asker', role: 'member', groups: [] };
const TEAMMATE: Identity = { team_id: 'team-a', key_id: 'key-mate', role: 'member', groups: [] };
const KADMIN: Identity = { team_id: 'team-a', key_id: 'key-kadmin', role: 'knowledge-admin', groups: [] };
const OTHER_KADMIN: Identity = { team_id: 'team-b', key_id: 'key-kadmin-b', role: 'knowledge-admin', groups: [] };
const ORG_ADMIN: Identity = { team_id: 'default', key_id: 'key-org-admin', role: 'admin', groups: [] };

let harness: RetrievalHarness;
let db: Db;
let models: FakeGatewayModels;
/** What each rewrite call was sent: the conversation a follow-up's rewrite saw. */
const rewritePrompts: string[] = [];

async function call(who: Identity, method: string, path: string, body?: unknown) {
  const res = await fetch(`${harness.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-quire-identity': signIdentity(who, SECRET) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : {} };
}

const seed = (name: string) =>
  seedCollection(db, {
    teamId: 'team-a',
    name: `${name}-${randomUUID()}`,
    embeddingModel: null,
    generationModel: 'fake/gen',
    documents: [
      { title: 'Pay', chunks: [{ text: 'The night shift bonus is 417 euros per month.', page: 1 }] },
      { title: 'Canteen', chunks: [{ text: 'The canteen opens at noon and serves soup.', page: 1 }] },
    ],
  });

const ask = (who: Identity, collection: SeededCollection, question: string, conversationId?: string) =>
  call(who, 'POST', `/v1/collections/${collection.collectionId}/answer`, { question, mode: 'keyword', ...(conversationId ? { conversation_id: conversationId } : {}) });

const count = async (sql: string, params: unknown[]) => Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n);

beforeAll(async () => {
  harness = await startRetrievalForTest({
    reply: (o) => {
      const system = String(o.messages[0]?.content ?? '');
      if (system.startsWith('Rewrite')) {
        rewritePrompts.push(String(o.messages[1]?.content));
        return ['night shift bonus per week'];
      }
      return [JSON.stringify(o.messages).includes('417 euros') ? 'The night shift bonus is 417 euros [1].' : 'The canteen opens at noon [1].'];
    },
  });
  ({ db, models } = harness);
});
afterAll(() => harness?.close());

describe('DELETE /v1/queries/:id', () => {
  test('the asker deletes the query, its feedback and its turns; the usage ledger keeps its rows', async () => {
    const coll = await seed('del');
    const asked = await ask(ASKER, coll, 'What is the night shift bonus?');
    expect(asked.status).toBe(200);
    const id = asked.json.query_id as string;
    expect((await call(ASKER, 'POST', `/v1/queries/${id}/feedback`, { rating: 'down', comment: 'it is 417, not 400' })).status).toBe(201);
    const ledger = await count(`usage_ledger WHERE query_id = $1`, [id]);
    expect(ledger).toBeGreaterThan(0);
    expect(await count(`conversation_turns WHERE query_id = $1`, [id])).toBe(2);

    // Another member of the team, another team's knowledge admin, a malformed id: the 404 a read gets.
    for (const who of [TEAMMATE, OTHER_KADMIN]) {
      const refused = await call(who, 'DELETE', `/v1/queries/${id}`);
      expect([refused.status, refused.json.error?.code]).toEqual([404, 'query_not_found']);
    }
    expect((await call(ASKER, 'DELETE', '/v1/queries/not-a-uuid')).status).toBe(404);
    expect((await call(ASKER, 'GET', `/v1/queries/${id}`)).status).toBe(200);

    const deleted = await call(ASKER, 'DELETE', `/v1/queries/${id}`);
    expect([deleted.status, deleted.json]).toEqual([200, { id, object: 'query', deleted: true }]);
    expect((await call(ASKER, 'GET', `/v1/queries/${id}`)).status).toBe(404);
    expect(await count(`query_feedback WHERE query_id = $1`, [id])).toBe(0);
    expect(await count(`conversation_turns WHERE query_id = $1`, [id])).toBe(0);
    expect(await count(`usage_ledger WHERE query_id = $1`, [id])).toBe(ledger);
    expect((await call(ASKER, 'DELETE', `/v1/queries/${id}`)).status).toBe(404);
  });

  test("a knowledge admin of the asker's team and an organisation admin may delete it too", async () => {
    const coll = await seed('admins');
    for (const who of [KADMIN, ORG_ADMIN]) {
      const id = (await ask(ASKER, coll, 'When does the canteen open?')).json.query_id as string;
      expect((await call(who, 'DELETE', `/v1/queries/${id}`)).status).toBe(200);
      expect(await count(`queries WHERE id = $1`, [id])).toBe(0);
    }
  });
});

test('DELETE /v1/conversations/:id: its starter deletes the turns; others get 404; its queries stay', async () => {
  const coll = await seed('conv');
  const first = await ask(ASKER, coll, 'What is the night shift bonus?');
  const conversation = first.json.conversation_id as string;
  const refused = await call(TEAMMATE, 'DELETE', `/v1/conversations/${conversation}`);
  expect([refused.status, refused.json.error?.code]).toEqual([404, 'not_found']);
  expect((await call(OTHER_KADMIN, 'DELETE', `/v1/conversations/${conversation}`)).status).toBe(404);
  expect((await call(ASKER, 'DELETE', `/v1/conversations/${randomUUID()}`)).status).toBe(404);

  const deleted = await call(ASKER, 'DELETE', `/v1/conversations/${conversation}`);
  expect([deleted.status, deleted.json]).toEqual([200, { id: conversation, object: 'conversation', deleted: true }]);
  expect(await count(`conversation_turns WHERE conversation_id = $1`, [conversation])).toBe(0);
  expect(await count(`conversations WHERE id = $1`, [conversation])).toBe(0);
  // Continuing it is continuing a conversation that does not exist.
  expect((await ask(ASKER, coll, 'and per week?', conversation)).status).toBe(404);
  expect((await call(ASKER, 'GET', `/v1/queries/${first.json.query_id}`)).status).toBe(200);
});

describe('a deleted or replaced document', () => {
  test("deleting it redacts the answers and quotes that drew on it, even for the asker, and a follow-up's rewrite no longer sees them", async () => {
    const coll = await seed('doc-del');
    const asked = await ask(ASKER, coll, 'What is the night shift bonus?');
    expect(asked.json.citations[0].quote).toContain('417');
    const id = asked.json.query_id as string;
    const conversation = asked.json.conversation_id as string;
    const canteen = (await ask(ASKER, coll, 'When does the canteen open?')).json.query_id as string;

    // What ingestion's deleteDocument does in its transaction.
    await db.transaction(async (tx) => {
      await tx.query(`DELETE FROM documents WHERE id = $1`, [coll.documentIds[0]]);
      expect(await redactQueriesOfDocuments(tx, [coll.documentIds[0]!])).toBe(1);
    });

    const stored = await call(ASKER, 'GET', `/v1/queries/${id}`);
    expect(stored.status).toBe(200);
    expect(JSON.stringify(stored.json)).not.toMatch(PLANTED);
    expect(stored.json.answer).toBeNull();
    expect(stored.json.redacted_at).toEqual(expect.any(String));
    // What it was and how it went stays: ids, scores, timings.
    expect(stored.json.citations[0]).toMatchObject({ document_id: coll.documentIds[0], quote: '' });
    expect(stored.json.results.length).toBeGreaterThan(0);
    expect(stored.json.query).toBe('What is the night shift bonus?');
    // A query that did not draw on it is untouched.
    const other = await call(ASKER, 'GET', `/v1/queries/${canteen}`);
    expect([other.json.redacted_at, other.json.answer]).toEqual([null, 'The canteen opens at noon [1].']);

    expect(await count(`conversation_turns WHERE query_id = $1`, [id])).toBe(0);
    rewritePrompts.length = 0;
    const followUp = await ask(ASKER, coll, 'and per week?', conversation);
    expect(followUp.status).toBe(200);
    expect(rewritePrompts.join('\n')).not.toMatch(PLANTED);
  });

  test('replacing it (the id stays) redacts them for the teammates who could read them', async () => {
    const coll = await seed('doc-replace');
    const id = (await ask(ASKER, coll, 'What is the night shift bonus?')).json.query_id as string;
    expect((await call(TEAMMATE, 'GET', `/v1/queries/${id}`)).json.citations[0].quote).toContain('417');
    // What ingestion's replacement swap does: the document keeps its id, its old text goes.
    await db.transaction((tx) => redactQueriesOfDocuments(tx, [coll.documentIds[0]!]));
    const read = await call(TEAMMATE, 'GET', `/v1/queries/${id}`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.json)).not.toMatch(PLANTED);
    // Once is enough: a second redaction changes nothing.
    expect(await db.transaction((tx) => redactQueriesOfDocuments(tx, [coll.documentIds[0]!]))).toBe(0);
  });

  test("the rewrite skips turns of a redacted query, such as one appended while its document's delete committed", async () => {
    const coll = await seed('skip');
    const asked = await ask(ASKER, coll, 'What is the night shift bonus?');
    // The turns are still there, as a turn appended in that race would be; only the query row says redacted.
    await db.query(`UPDATE queries SET redacted_at = now() WHERE id = $1`, [asked.json.query_id]);
    expect(await count(`conversation_turns WHERE query_id = $1`, [asked.json.query_id])).toBe(2);
    rewritePrompts.length = 0;
    expect((await ask(ASKER, coll, 'and per week?', asked.json.conversation_id)).status).toBe(200);
    expect(rewritePrompts.join('\n')).not.toMatch(PLANTED);
  });

  test('no turn is appended for a redacted query, and no conversation for one that was not recorded', async () => {
    const coll = await seed('append');
    const id = (await ask(ASKER, coll, 'What is the night shift bonus?', undefined)).json.query_id as string;
    await db.query(`UPDATE queries SET redacted_at = now() WHERE id = $1`, [id]);
    const conversation = randomUUID();
    await appendTurns(db, ASKER, conversation, [coll.collectionId], id, 'q', 'The night shift bonus is 417 euros.');
    expect(await count(`conversation_turns WHERE conversation_id = $1`, [conversation])).toBe(0);
    expect(await count(`conversations WHERE id = $1`, [conversation])).toBe(1);
    const missing = randomUUID();
    await appendTurns(db, ASKER, missing, [coll.collectionId], randomUUID(), 'q', 'a');
    expect(await count(`conversations WHERE id = $1`, [missing])).toBe(0);
  });
});

describe('what else carries a redacted answer', () => {
  /** A rewrite that repeats the figure the conversation gave, as a model resolving "it" may. */
  const withEchoingRewrite = async <T>(run: () => Promise<T>): Promise<T> => {
    const plain = models.reply;
    models.reply = (o) => {
      const system = String(o.messages[0]?.content ?? '');
      if (system.startsWith('Rewrite')) return [String(o.messages[1]?.content).includes('417 euros') ? 'canteen subsidy compared with the 417 euros night bonus' : 'canteen subsidy'];
      return plain(o);
    };
    try {
      return await run();
    } finally {
      models.reply = plain;
    }
  };
  const canteenOnly = () =>
    seedCollection(db, {
      teamId: 'team-a',
      name: `canteen-${randomUUID()}`,
      embeddingModel: null,
      generationModel: 'fake/gen',
      documents: [{ title: 'Canteen', chunks: [{ text: 'The canteen subsidy covers soup at noon.', page: 1 }] }],
    });
  const stored = async (id: string) =>
    (await db.query<{ rewritten_query: string | null; answer: string | null; redacted: boolean }>(`SELECT rewritten_query, answer, redacted_at IS NOT NULL AS redacted FROM queries WHERE id = $1`, [id])).rows[0]!;

  test("a later follow-up of the conversation, whose rewrite and answer may repeat the redacted answer's words, is redacted with it", async () => {
    const coll = await seed('later-rewrite');
    const canteen = await canteenOnly();
    const first = await ask(ASKER, coll, 'What is the night shift bonus?');
    const conversation = first.json.conversation_id as string;
    // The follow-up searches a collection without the document: it draws on it only through its
    // rewrite, which the answer prompt holds too (the fake answers with the figure when its prompt has it).
    const followUp = await withEchoingRewrite(() => ask(ASKER, canteen, 'and the canteen?', conversation));
    expect(followUp.status).toBe(200);
    expect(followUp.json.rewritten_query).toMatch(PLANTED);
    expect(await count(`conversation_turns WHERE query_id = $1`, [followUp.json.query_id])).toBe(2);
    // One asked in another conversation is not touched.
    const elsewhere = await withEchoingRewrite(async () => {
      const own = await ask(ASKER, canteen, 'What does the canteen serve?');
      return ask(ASKER, canteen, 'and at noon?', own.json.conversation_id);
    });
    expect((await stored(elsewhere.json.query_id)).rewritten_query).toBe('canteen subsidy');

    // Replaced (the id stays): the same redaction as a delete's.
    expect(await db.transaction((tx) => redactQueriesOfDocuments(tx, [coll.documentIds[0]!]))).toBe(2);
    const later = await call(ASKER, 'GET', `/v1/queries/${followUp.json.query_id}`);
    expect(later.status).toBe(200);
    expect(JSON.stringify(later.json)).not.toMatch(PLANTED);
    expect(later.json).toMatchObject({ rewritten_query: null, answer: null, redacted_at: expect.any(String), query: 'and the canteen?' });
    expect(await count(`conversation_turns WHERE conversation_id = $1`, [conversation])).toBe(0);
    expect(await stored(elsewhere.json.query_id)).toMatchObject({ rewritten_query: 'canteen subsidy', redacted: false });

    // A follow-up asked after the redaction never saw those turns: a second replacement leaves it alone.
    rewritePrompts.length = 0;
    const after = await withEchoingRewrite(() => ask(ASKER, canteen, 'and on Sundays?', conversation));
    expect(after.json.rewritten_query).toBeUndefined(); // no history left to rewrite from
    await db.query(`UPDATE queries SET rewritten_query = 'canteen subsidy on Sundays' WHERE id = $1`, [after.json.query_id]);
    expect(await db.transaction((tx) => redactQueriesOfDocuments(tx, [coll.documentIds[0]!]))).toBe(0);
    expect(await stored(after.json.query_id)).toMatchObject({ rewritten_query: 'canteen subsidy on Sundays', redacted: false });
  });

  test('a follow-up recorded after a query whose turns its rewrite saw was redacted (a delete that committed while it was answered) is recorded redacted', async () => {
    const coll = await seed('rewrite-race');
    const first = await ask(ASKER, coll, 'What is the night shift bonus?');
    const record = async (rewrittenFrom: string[]) => {
      const id = randomUUID();
      const outcome = await insertQuery(db, {
        id,
        identity: ASKER,
        collectionId: coll.collectionId,
        conversationId: first.json.conversation_id,
        rewrittenQuery: 'canteen subsidy compared with the 417 euros night bonus',
        rewrittenFrom,
        kind: 'answer',
        query: 'and the canteen?',
        mode: 'keyword',
        status: 'ok',
        answer: 'The canteen opens at noon, unlike the 417 euros bonus [1].',
        results: [{ rank: 1, chunkId: coll.chunkIds[1]![0]!, documentId: coll.documentIds[1]!, score: 1, scores: {} } as never],
        citations: [],
        timings: {},
        models: {},
      });
      return { outcome, row: await stored(id) };
    };
    // What the answer pipeline passes on: the queries of the turns the rewrite saw.
    const history = await loadHistory(db, ASKER, first.json.conversation_id);
    expect(history.map((t) => t.queryId)).toEqual([first.json.query_id, first.json.query_id]);
    const sawTurnsOf = history.map((t) => t.queryId!);
    expect(await record(sawTurnsOf)).toMatchObject({ outcome: 'recorded', row: { redacted: false } });
    // Redacted between the history's read and the recording: what the delete's lock makes the follow-up see.
    await db.query(`UPDATE queries SET redacted_at = now(), answer = NULL WHERE id = $1`, [first.json.query_id]);
    const late = await record(sawTurnsOf);
    expect(late).toMatchObject({ outcome: 'redacted', row: { rewritten_query: null, answer: null, redacted: true } });
    // A rewrite from other turns only is recorded as it was.
    expect(await record([])).toMatchObject({ outcome: 'recorded', row: { redacted: false } });
  });

  test("a redacted query's feedback keeps its rating and loses its comment, also one given afterwards", async () => {
    const coll = await seed('feedback');
    const asked = await ask(ASKER, coll, 'What is the night shift bonus?');
    const id = asked.json.query_id as string;
    const other = (await ask(ASKER, coll, 'When does the canteen open?')).json.query_id as string;
    expect((await call(ASKER, 'POST', `/v1/queries/${id}/feedback`, { rating: 'down', comment: 'it is 417 euros, not 400' })).status).toBe(201);
    expect((await call(TEAMMATE, 'POST', `/v1/queries/${id}/feedback`, { rating: 'up' })).status).toBe(201);
    expect((await call(ASKER, 'POST', `/v1/queries/${other}/feedback`, { rating: 'up', comment: 'noon is right' })).status).toBe(201);

    await db.transaction(async (tx) => {
      await tx.query(`DELETE FROM documents WHERE id = $1`, [coll.documentIds[0]]);
      await redactQueriesOfDocuments(tx, [coll.documentIds[0]!]);
    });
    const read = await call(ASKER, 'GET', `/v1/queries/${id}`);
    expect(JSON.stringify(read.json)).not.toMatch(PLANTED);
    expect(read.json.feedback).toEqual([expect.objectContaining({ rating: 'down', comment: null }), expect.objectContaining({ rating: 'up', comment: null })]);
    // Given after the redaction: the rating counts, the comment (which may quote what the asker remembers) is not kept.
    expect((await call(ASKER, 'POST', `/v1/queries/${id}/feedback`, { rating: 'down', comment: 'it said 417 euros' })).status).toBe(201);
    expect(await count(`query_feedback WHERE query_id = $1 AND comment IS NULL`, [id])).toBe(3);
    // The statistics still count the rated query.
    const stats = await call(ASKER, 'GET', `/v1/collections/${coll.collectionId}/query-stats`);
    expect(JSON.stringify(stats.json)).not.toMatch(PLANTED);
    expect(await count(`query_feedback WHERE query_id = $1 AND rating = 'down'`, [id])).toBe(2);
    // Another query's comment stays.
    expect((await call(ASKER, 'GET', `/v1/queries/${other}`)).json.feedback).toEqual([expect.objectContaining({ comment: 'noon is right' })]);
    // Feedback on a query deleted since it was read is the 404 a read gets.
    expect((await call(ASKER, 'POST', `/v1/queries/${randomUUID()}/feedback`, { rating: 'up' })).status).toBe(404);
  });
});

describe('recording a query whose sources went while it was answered', () => {
  const record = (coll: SeededCollection, documentIndex: number, id = randomUUID()) =>
    insertQuery(db, {
      id,
      identity: ASKER,
      collectionId: coll.collectionId,
      kind: 'answer',
      query: 'q',
      mode: 'keyword',
      status: 'ok',
      answer: 'The night shift bonus is 417 euros [1].',
      results: [{ rank: 1, chunkId: coll.chunkIds[documentIndex]![0]!, documentId: coll.documentIds[documentIndex]!, score: 1, scores: {} } as never],
      citations: [{ index: 1, document_id: coll.documentIds[documentIndex], quote: 'The night shift bonus is 417 euros per month.' }],
      timings: {},
      models: {},
    });

  test('a deleted collection: nothing is recorded', async () => {
    const coll = await seed('gone-coll');
    await db.query(`DELETE FROM collections WHERE id = $1`, [coll.collectionId]);
    const id = randomUUID();
    expect(await record(coll, 0, id)).toBe('dropped');
    expect(await count(`queries WHERE id = $1`, [id])).toBe(0);
  });

  test('a deleted document, or a chunk replaced since: recorded redacted', async () => {
    const coll = await seed('gone-doc');
    expect(await record(coll, 1)).toBe('recorded');
    await db.query(`DELETE FROM chunks WHERE document_id = $1`, [coll.documentIds[1]]);
    expect(await record(coll, 1)).toBe('redacted');
    await db.query(`DELETE FROM documents WHERE id = $1`, [coll.documentIds[0]]);
    const id = randomUUID();
    expect(await record(coll, 0, id)).toBe('redacted');
    const row = (await db.query<{ answer: string | null; citations: unknown; redacted_at: unknown }>(`SELECT answer, citations, redacted_at FROM queries WHERE id = $1`, [id])).rows[0]!;
    expect(row.answer).toBeNull();
    expect(row.redacted_at).not.toBeNull();
    expect(JSON.stringify(row.citations)).not.toMatch(PLANTED);
  });
});

test("a collection's delete takes its queries (multi-collection ones too), their feedback and turns, and its conversations", async () => {
  const gone = await seed('gone');
  const kept = await seed('kept');
  const alone = (await ask(ASKER, gone, 'What is the night shift bonus?')).json;
  const both = await call(ASKER, 'POST', '/v1/answer', { question: 'When does the canteen open?', mode: 'keyword', collection_ids: [gone.collectionId, kept.collectionId] });
  expect(both.status).toBe(200);
  await call(ASKER, 'POST', `/v1/queries/${alone.query_id}/feedback`, { rating: 'up' });
  const keptQuery = (await ask(ASKER, kept, 'When does the canteen open?')).json;
  // A conversation on the kept collection that one of the gone collection's queries was asked in.
  await appendTurns(db, ASKER, keptQuery.conversation_id, [kept.collectionId], both.json.query_id, 'both?', 'The canteen opens at noon [1].');

  await db.transaction(async (tx) => {
    await tx.query(`DELETE FROM collections WHERE id = $1`, [gone.collectionId]);
    expect(await forgetCollectionQueries(tx, gone.collectionId)).toEqual({ queries: 2, conversations: 2 });
  });
  for (const id of [alone.query_id, both.json.query_id]) expect((await call(ASKER, 'GET', `/v1/queries/${id}`)).status).toBe(404);
  expect(await count(`query_feedback WHERE query_id = $1`, [alone.query_id])).toBe(0);
  expect(await count(`conversations WHERE id = ANY($1::uuid[])`, [[alone.conversation_id, both.json.conversation_id]])).toBe(0);
  expect(await count(`conversation_turns WHERE query_id = $1`, [both.json.query_id])).toBe(0);
  // The kept collection's query and conversation stay, less the gone query's turns.
  expect((await call(ASKER, 'GET', `/v1/queries/${keptQuery.query_id}`)).status).toBe(200);
  expect(await count(`conversation_turns WHERE conversation_id = $1`, [keptQuery.conversation_id])).toBe(2);
  expect(await count(`usage_ledger WHERE query_id = $1`, [alone.query_id])).toBeGreaterThan(0);
});
