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

/**
 * The database role may not do what a migration needs (PostgreSQL's `42501`, insufficient_privilege),
 * typically `CREATE EXTENSION vector` as a role that is not a superuser. Said in one line with what to
 * do; `code` ends in `_config_invalid`, as the other start-up refusals a person can act on.
 */
export class MigrationPermissionError extends Error {
  override name = 'MigrationPermissionError';
  readonly code = 'database_config_invalid' as const;
  constructor(
    readonly migration: string,
    readonly reason: string,
    readonly extension: string | undefined,
    where: { user?: string; database?: string },
    options?: { cause?: unknown },
  ) {
    const role = where.user ? `role "${where.user}"` : 'the database role';
    const database = where.database ? `database "${where.database}"` : 'this database';
    super(
      `Database migration ${migration} failed: ${role} lacks a privilege it needs (${reason}). ` +
        (extension
          ? `Connect to ${database} as a superuser and run \`CREATE EXTENSION IF NOT EXISTS ${extension};\` once (e.g. psql -d ${where.database ?? '<database>'} -c 'CREATE EXTENSION IF NOT EXISTS ${extension};'), then start again.`
          : `Grant ${role} that privilege in ${database} (or run the migrations once as the database's owner), then start again.`),
      options,
    );
  }
}

function isInsufficientPrivilege(error: unknown): error is Error & { code: string } {
  return error instanceof Error && (error as { code?: unknown }).code === '42501';
}

async function permissionError(db: Db, migration: string, error: Error): Promise<MigrationPermissionError> {
  const extension = /extension "([^"]+)"/i.exec(error.message)?.[1];
  // Names the role and database in the message; the failed transaction is over, so the connection answers.
  const where = await db
    .query<{ role_name: string; database_name: string }>('SELECT current_user AS role_name, current_database() AS database_name')
    .then((r) => (r.rows[0] ? { user: r.rows[0].role_name, database: r.rows[0].database_name } : {}), () => ({}));
  return new MigrationPermissionError(migration, error.message, extension, where, { cause: error });
}

// An arbitrary constant: concurrent runners on one server serialise on this advisory lock.
const LOCK_KEY = 717_171_001;

/** Applies every migration not yet recorded; safe to run from several processes at once. */
export async function migrate(db: Db, migrations = loadMigrations()): Promise<string[]> {
  // Under the lock too: two servers starting at once (docker-compose starts three) would race on
  // CREATE TABLE IF NOT EXISTS, which is not atomic in Postgres (a duplicate pg_type key error).
  try {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      await tx.exec(`CREATE TABLE IF NOT EXISTS quire_migrations (
        id integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    });
  } catch (error) {
    throw isInsufficientPrivilege(error) ? await permissionError(db, 'quire_migrations (the migrations table)', error) : error;
  }
  const applied: string[] = [];
  for (const migration of migrations) {
    const done = await db
      .transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
        const seen = await tx.query('SELECT 1 FROM quire_migrations WHERE id = $1', [migration.id]);
        if (seen.rows.length > 0) return false;
        await tx.query('INSERT INTO quire_migrations (id, name) VALUES ($1, $2)', [migration.id, migration.name]);
        await tx.exec(migration.sql);
        return true;
      })
      .catch(async (error: unknown) => {
        throw isInsufficientPrivilege(error) ? await permissionError(db, migration.name, error) : error;
      });
    if (done) applied.push(migration.name);
  }
  return applied;
}
