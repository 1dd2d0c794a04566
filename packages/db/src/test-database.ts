import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Db } from './db.js';
import { openPGlite } from './pglite-db.js';
import { loadMigrations, migrate } from './migrate.js';
import { openPostgresTestDatabase } from './postgres-test-database.js';

/**
 * A migrated database for one test. With `QUIRE_TEST_DATABASE_URL` (a PostgreSQL server with pgvector,
 * see scripts/install-pgvector.sh) a fresh database on that server, dropped on close; otherwise an
 * in-memory PGlite. The same tests run on both (`pnpm test:postgres`).
 */
export async function openTestDatabase(): Promise<Db> {
  const url = process.env.QUIRE_TEST_DATABASE_URL;
  return url ? openPostgresTestDatabase(url) : openPGliteTestDatabase();
}

/**
 * A migrated in-memory PGlite for tests. Migrating costs seconds, so the first call migrates once
 * and dumps the data directory to a tarball (keyed by the migrations' hash, shared by every jest
 * worker); later calls start from it, the way a template database is cloned per test.
 */
async function openPGliteTestDatabase(): Promise<Db> {
  const migrations = loadMigrations();
  const hash = createHash('sha256').update(migrations.map((m) => m.sql).join('\n')).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `quire-test-template-${hash}.tar.gz`);
  if (existsSync(file)) {
    const blob = new Blob([readFileSync(file)]);
    return openPGlite({ loadDataDir: blob });
  }
  const db = await openPGlite();
  await migrate(db, migrations);
  const dump = await db.raw.dumpDataDir('gzip');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
  renameSync(tmp, file);
  return db;
}
