import { openPGlite } from './pglite-db.js';
import { loadMigrations, migrate } from './migrate.js';

describe('migrate on PGlite', () => {
  // A fresh PGlite running every migration takes 15 s on a loaded 2-core host; the default 60 s was hit under CI load.
  test('applies every migration once and is idempotent', async () => {
    const db = await openPGlite();
    try {
      const first = await migrate(db);
      expect(first).toEqual(loadMigrations().map((m) => m.name));
      expect(await migrate(db)).toEqual([]);
      const tables = await db.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(['collections', 'documents', 'chunks', 'chunk_vectors', 'usage_ledger', 'queries']),
      );
    } finally {
      await db.close();
    }
  }, 180_000);

  test('the ledger refuses updates and deletes', async () => {
    const db = await openPGlite();
    try {
      await migrate(db);
      await db.query(
        `INSERT INTO usage_ledger (trace_id, team_id, key_id, purpose, capability, provider, model, status, usage_reported, latency_ms)
         VALUES ('t', 'team', 'key', 'api', 'chat', 'openai', 'gpt', 'ok', true, 5)`,
      );
      await expect(db.query(`UPDATE usage_ledger SET latency_ms = 1`)).rejects.toThrow(/append-only/);
      await expect(db.query(`DELETE FROM usage_ledger`)).rejects.toThrow(/append-only/);
    } finally {
      await db.close();
    }
  });
});

test('openTestDatabase starts migrated, from a template after the first time', async () => {
  const { openTestDatabase } = await import('./test-database.js');
  const a = await openTestDatabase();
  const b = await openTestDatabase();
  try {
    for (const db of [a, b]) {
      const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM quire_migrations');
      expect(r.rows[0]!.n).toBe(loadMigrations().length);
    }
  } finally {
    await a.close();
    await b.close();
  }
});
