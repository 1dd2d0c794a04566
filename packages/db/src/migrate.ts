import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Db } from './db.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/** Migrations are plain numbered SQL files (`0001_init.sql`), applied in order, each in its own transaction. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((file) => ({ id: Number(file.slice(0, 4)), name: file.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, file), 'utf8') }));
}

// An arbitrary constant: concurrent runners on one server serialise on this advisory lock.
const LOCK_KEY = 717_171_001;

/** Applies every migration not yet recorded; safe to run from several processes at once. */
export async function migrate(db: Db, migrations = loadMigrations()): Promise<string[]> {
  // Under the lock too: two servers starting at once (docker-compose starts three) would race on
  // CREATE TABLE IF NOT EXISTS, which is not atomic in Postgres (a duplicate pg_type key error).
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS quire_migrations (
      id integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  });
  const applied: string[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      const seen = await tx.query('SELECT 1 FROM quire_migrations WHERE id = $1', [migration.id]);
      if (seen.rows.length > 0) return false;
      await tx.query('INSERT INTO quire_migrations (id, name) VALUES ($1, $2)', [migration.id, migration.name]);
      await tx.exec(migration.sql);
      return true;
    });
    if (done) applied.push(migration.name);
  }
  return applied;
}
