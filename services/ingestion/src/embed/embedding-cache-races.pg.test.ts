/**
 * An ingestion job caching vectors while its document's delete is in flight, on a PostgreSQL server
 * (PGlite runs one transaction at a time): the delete reads which vectors the document used and
 * takes them, so a vector the job caches after that read must not outlive the delete.
 */
import { randomUUID } from 'node:crypto';
import { openPostgres, openTestDatabase, type Db, type PostgresTestDatabase } from '@quire/db';
import { forgetUnusedEmbeddings, recordEmbeddingUses, releaseEmbeddingUses, writeCachedEmbeddings } from './embedding-cache.js';

let db: PostgresTestDatabase;
/** One connection, so BEGIN ... COMMIT sent as separate statements is one transaction held open between them. */
let gate: Db;

beforeEach(async () => {
  db = (await openTestDatabase()) as PostgresTestDatabase;
  gate = openPostgres(db.connectionString, { max: 1 });
});
afterEach(async () => {
  await gate?.close();
  await db?.close();
});

async function seedDocument(): Promise<string> {
  const [collection, document] = [randomUUID(), randomUUID()];
  await db.query(`INSERT INTO collections (id, team_id, name, chunking) VALUES ($1, 'team-a', 'c', '{}'::jsonb)`, [collection]);
  await db.query(`INSERT INTO documents (id, collection_id, team_id, title, mime_type, byte_size, content_sha256, status) VALUES ($1, $2, 'team-a', 'd', 'text/plain', 1, 'sha', 'processing')`, [document, collection]);
  return document;
}

/** 'waited' as soon as another backend waits on a lock (the caller holds the gate's transaction open), 'settled' if the work finishes first. */
async function waitsOrSettles(work: Promise<unknown>): Promise<'waited' | 'settled'> {
  let settled = false;
  void work.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (;;) {
    if (settled) return 'settled';
    const r = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
    );
    if (r.rows[0]!.n > 0) return 'waited';
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test("a vector cached while its document's delete is in flight, after the delete read what the document used, is not written", async () => {
  const documentId = await seedDocument();
  const cache = { db, teamId: 'team-a', documentId };
  const [early, late] = ['a'.repeat(64), 'b'.repeat(64)];
  expect(await recordEmbeddingUses(cache, [early, late])).toBe(true);
  await writeCachedEmbeddings(cache, 'openai/small', 0, [early], ['[0.5,0.5]']);

  // What deleteDocument does in its transaction, held open before it commits.
  await gate.query('BEGIN');
  await gate.query(`SELECT 1 FROM documents WHERE id = $1 FOR UPDATE`, [documentId]);
  const used = await releaseEmbeddingUses(gate, [documentId]);
  expect(used.sort()).toEqual([early, late]);
  await gate.query(`DELETE FROM documents WHERE id = $1`, [documentId]);
  expect(await forgetUnusedEmbeddings(gate, { hashes: used })).toBe(1);

  // The job's next batch: it waits for the delete and then finds the document gone.
  const writing = writeCachedEmbeddings(cache, 'openai/small', 0, [late], ['[0.25,0.25]']);
  const outcome = await waitsOrSettles(writing);
  await gate.query('COMMIT');
  await writing;
  expect(outcome).toBe('waited');
  expect((await db.query(`SELECT content_sha256 FROM embedding_cache`)).rows).toEqual([]);
  // Recording uses of a document that is gone records nothing.
  expect(await recordEmbeddingUses(cache, [late])).toBe(false);
  expect((await db.query(`SELECT 1 FROM embedding_cache_uses`)).rows).toEqual([]);
});
