/**
 * Runs only in the PostgreSQL pass (`pnpm test:postgres`, and scripts/test.sh when a server with
 * pgvector is there): what PGlite cannot show, because it is one connection in one process.
 */
import pg from 'pg';
import { openPostgres } from './postgres-db.js';
import { loadMigrations, migrate } from './migrate.js';
import { openTestDatabase } from './test-database.js';
import { withDatabase, type PostgresTestDatabase } from './postgres-test-database.js';

const adminUrl = process.env.QUIRE_TEST_DATABASE_URL!;

async function withScratchDatabase(fn: (url: string) => Promise<void>): Promise<void> {
  const name = `quire_scratch_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    await fn(withDatabase(adminUrl, name));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

test('every migration applies to an empty PostgreSQL database with pgvector, once', async () => {
  await withScratchDatabase(async (url) => {
    const db = openPostgres(url);
    try {
      expect(await migrate(db)).toEqual(loadMigrations().map((m) => m.name));
      expect(await migrate(db)).toEqual([]);
      const version = await db.query<{ extversion: string }>(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
      const [major, minor] = version.rows[0]!.extversion.split('.').map(Number);
      // HNSW indexes (migration 0010's deferred graphs) need pgvector 0.5 or later.
      expect(major! > 0 || minor! >= 5).toBe(true);
      const tables = await db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['collections', 'documents', 'chunks', 'chunk_vectors', 'usage_ledger', 'queries', 'bm25_postings']));
    } finally {
      await db.close();
    }
  });
});

test('an HNSW index over a dimension-typed expression answers nearest-neighbour queries in order', async () => {
  const db = (await openTestDatabase()) as PostgresTestDatabase;
  try {
    await db.exec(`CREATE TABLE t (id int PRIMARY KEY, v vector)`);
    await db.query(`INSERT INTO t SELECT i, ('[' || i || ',' || (100 - i) || ',1]')::vector FROM generate_series(1, 100) i`);
    await db.exec(`CREATE INDEX ON t USING hnsw ((v::vector(3)) vector_cosine_ops)`);
    await db.exec(`SET enable_seqscan = off`);
    const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT id FROM t ORDER BY v::vector(3) <=> '[1,99,1]' LIMIT 3`);
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/hnsw|Index Scan/i);
    const near = await db.query<{ id: number }>(`SELECT id FROM t ORDER BY v::vector(3) <=> '[1,99,1]' LIMIT 3`);
    expect(near.rows.map((r) => r.id)).toEqual([1, 2, 3]);
  } finally {
    await db.close();
  }
});

test('an idle connection the server terminates neither crashes the process nor breaks the next query', async () => {
  const scratch = (await openTestDatabase()) as PostgresTestDatabase;
  const dropped: Error[] = [];
  const db = openPostgres(scratch.connectionString, { onIdleError: (error) => dropped.push(error) });
  try {
    const pid = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend($1)', [pid.rows[0]!.pid]);
    await admin.end();
    for (let i = 0; i < 100 && dropped.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(dropped[0]?.message).toMatch(/terminating connection/);
    const after = await db.query<{ one: number }>('SELECT 1 AS one');
    expect(after.rows[0]!.one).toBe(1);
  } finally {
    await db.close();
    await scratch.close();
  }
});

test('transactions on separate connections run concurrently, and a failed one rolls back alone', async () => {
  const db = (await openTestDatabase()) as PostgresTestDatabase;
  try {
    await db.exec(`CREATE TABLE c (id int PRIMARY KEY)`);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = db.transaction(async (tx) => {
      await tx.query('INSERT INTO c VALUES (1)');
      await held;
    });
    // The second transaction commits while the first is still open: a server, unlike PGlite, does not queue it.
    await db.transaction(async (tx) => tx.query('INSERT INTO c VALUES (2)'));
    await expect(db.transaction(async (tx) => {
      await tx.query('INSERT INTO c VALUES (3)');
      await tx.query('INSERT INTO c VALUES (2)');
    })).rejects.toMatchObject({ code: '23505' });
    release();
    await first;
    const rows = await db.query<{ id: number }>('SELECT id FROM c ORDER BY id');
    expect(rows.rows.map((r) => r.id)).toEqual([1, 2]);
  } finally {
    await db.close();
  }
});
