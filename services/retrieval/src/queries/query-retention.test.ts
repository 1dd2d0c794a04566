import { randomUUID } from 'node:crypto';
import type { Db } from '@quire/db';
import { openTestDatabase } from '@quire/db';
import { createLogger } from '@quire/server-kit';
import { createRetrievalService } from '../retrieval-service.js';
import { createFakeGatewayModels } from '../testing/fake-gateway-models.js';
import { DIMENSIONS, seedCollection } from '../testing/seed.js';
import { createQueryRetention, queryRetentionDaysSchema } from './query-retention.js';

let db: Db;
let collectionId: string;

beforeAll(async () => {
  db = await openTestDatabase();
  collectionId = (await seedCollection(db, { teamId: 'team-a', name: 'retention', embeddingModel: null, generationModel: null, documents: [] })).collectionId;
});
afterAll(async () => {
  await db?.close();
});

const count = async (sql: string, params: unknown[] = []) => Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n);

/** A query asked `daysAgo` days ago in a conversation, with feedback and its two turns, as retrieval writes them. */
async function storedQuery(daysAgo: number, conversationId: string = randomUUID()): Promise<{ queryId: string; conversationId: string }> {
  const queryId = randomUUID();
  const at = `now() - make_interval(days => ${daysAgo})`;
  await db.query(
    `INSERT INTO queries (id, team_id, key_id, collection_id, collection_ids, kind, query, status, answer, created_at)
     VALUES ($1, 'team-a', 'key-a', $2, ARRAY[$2::uuid], 'answer', 'old question', 'ok', 'old answer', ${at})`,
    [queryId, collectionId],
  );
  await db.query(`INSERT INTO query_feedback (query_id, team_id, key_id, rating, comment, created_at) VALUES ($1, 'team-a', 'key-a', 'down', 'wrong', ${at})`, [queryId]);
  await db.query(
    `INSERT INTO conversations (id, team_id, key_id, collection_ids, created_at, updated_at) VALUES ($1, 'team-a', 'key-a', ARRAY[$2::uuid], ${at}, ${at})
     ON CONFLICT (id) DO UPDATE SET updated_at = GREATEST(conversations.updated_at, EXCLUDED.updated_at)`,
    [conversationId, collectionId],
  );
  await db.query(
    `INSERT INTO conversation_turns (conversation_id, query_id, role, content, created_at) VALUES ($1, $2, 'user', 'old question', ${at}), ($1, $2, 'assistant', 'old answer', ${at})`,
    [conversationId, queryId],
  );
  await db.query(
    `INSERT INTO usage_ledger (trace_id, team_id, key_id, purpose, query_id, capability, provider, model, status, usage_reported, latency_ms, created_at)
     VALUES ('t', 'team-a', 'key-a', 'generate', $1, 'chat', 'fake', 'gen', 'ok', true, 1, ${at})`,
    [queryId],
  );
  return { queryId, conversationId };
}

test('QUIRE_QUERY_RETENTION_DAYS: unset or empty keeps queries forever; otherwise whole days from 1', () => {
  expect(queryRetentionDaysSchema.parse(undefined)).toBeUndefined();
  expect(queryRetentionDaysSchema.parse(' ')).toBeUndefined();
  expect(queryRetentionDaysSchema.parse('30')).toBe(30);
  for (const bad of ['0', '-3', '1.5', 'thirty', '99999']) {
    const parsed = queryRetentionDaysSchema.safeParse(bad);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('QUIRE_QUERY_RETENTION_DAYS');
  }
});

test('a sweep deletes queries, feedback and turns older than the retention, in batches, and conversations left empty', async () => {
  const old = await Promise.all([1, 2, 3, 4, 5].map(() => storedQuery(40)));
  // A conversation with an old turn and a recent one: only the old turn goes, the conversation stays.
  const mixed = await storedQuery(40);
  const recentInMixed = await storedQuery(1, mixed.conversationId);
  const recent = await storedQuery(2);
  const ledgerBefore = await count('usage_ledger');

  const retention = createQueryRetention({ db, logger: createLogger({}, 'error'), days: 30, batchSize: 2 });
  expect(await retention.sweep()).toEqual({ queries: 6, conversations: 5 });

  const oldIds = [...old, mixed].map((q) => q.queryId);
  expect(await count(`queries WHERE id = ANY($1::uuid[])`, [oldIds])).toBe(0);
  expect(await count(`query_feedback WHERE query_id = ANY($1::uuid[])`, [oldIds])).toBe(0);
  expect(await count(`conversation_turns WHERE query_id = ANY($1::uuid[])`, [oldIds])).toBe(0);
  expect(await count(`conversations WHERE id = ANY($1::uuid[])`, [old.map((q) => q.conversationId)])).toBe(0);
  expect(await count(`queries WHERE id = ANY($1::uuid[])`, [[recent.queryId, recentInMixed.queryId]])).toBe(2);
  expect(await count(`conversation_turns WHERE conversation_id = $1`, [mixed.conversationId])).toBe(2);
  expect(await count(`conversations WHERE id = ANY($1::uuid[])`, [[mixed.conversationId, recent.conversationId]])).toBe(2);
  expect(await count('usage_ledger')).toBe(ledgerBefore);
  expect(await retention.sweep()).toEqual({ queries: 0, conversations: 0 });
  await retention.stop();
});

test('the retrieval service sweeps when QUIRE_QUERY_RETENTION_DAYS is set, and stop() ends the sweeper', async () => {
  const { queryId } = await storedQuery(10);
  const another = await storedQuery(10);
  const off = await createRetrievalService({ db, models: createFakeGatewayModels(db, DIMENSIONS), logger: createLogger({}, 'error'), internalSecret: 'x'.repeat(32) });
  await off.stop();
  expect(await count(`queries WHERE id = $1`, [queryId])).toBe(1);

  const on = await createRetrievalService({ db, models: createFakeGatewayModels(db, DIMENSIONS), logger: createLogger({}, 'error'), internalSecret: 'x'.repeat(32), queryRetentionDays: 7 });
  for (let i = 0; i < 100 && (await count(`queries WHERE id = $1`, [queryId])) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  await on.stop();
  expect(await count(`queries WHERE id = ANY($1::uuid[])`, [[queryId, another.queryId]])).toBe(0);
});
