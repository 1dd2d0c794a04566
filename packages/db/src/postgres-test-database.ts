import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Db } from './db.js';
import { openPostgres } from './postgres-db.js';
import { loadMigrations, migrate } from './migrate.js';

/** A throwaway database on a PostgreSQL server; `connectionString` lets a test hand it to other processes. */
export type PostgresTestDatabase = Db & { readonly connectionString: string };

let counter = 0;

/**
 * A fresh database per call on the server `adminUrl` points at, cloned from a migrated template
 * (`quire_tpl_<hash of the migrations>`), and dropped on close. Jest workers share the template: the
 * first to need it migrates it under an advisory lock; CREATE DATABASE ... TEMPLATE copies files, so a
 * clone costs tens of milliseconds where migrating costs seconds.
 */
export async function openPostgresTestDatabase(adminUrl: string): Promise<PostgresTestDatabase> {
  const migrations = loadMigrations();
  const hash = createHash('sha256').update(migrations.map((m) => m.sql).join('\n')).digest('hex').slice(0, 12);
  const template = `quire_tpl_${hash}`;
  const name = `quire_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await ensureTemplate(admin, adminUrl, template, migrations);
    await createFromTemplate(admin, name, template);
  } finally {
    await admin.end();
  }
  const connectionString = withDatabase(adminUrl, name);
  const db = openPostgres(connectionString);
  return {
    ...db,
    connectionString,
    async close() {
      await db.close();
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

async function ensureTemplate(admin: pg.Client, adminUrl: string, template: string, migrations: ReturnType<typeof loadMigrations>): Promise<void> {
  const lockKey = Number.parseInt(template.slice(-8), 16) | 0;
  await admin.query('SELECT pg_advisory_lock($1)', [lockKey]);
  try {
    const found = await admin.query('SELECT datistemplate FROM pg_database WHERE datname = $1', [template]);
    if (found.rows[0]?.datistemplate) return;
    // A half-made template (a crash while migrating) is dropped and made again.
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${template}`);
    const db = openPostgres(withDatabase(adminUrl, template), { max: 1 });
    try {
      await migrate(db, migrations);
    } finally {
      await db.close();
    }
    await admin.query(`ALTER DATABASE ${template} WITH IS_TEMPLATE true`);
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [lockKey]);
  }
}

/** Another worker's clone briefly holds the template open ("being accessed by other users"): retry. */
async function createFromTemplate(admin: pg.Client, name: string, template: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
    }
  }
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
