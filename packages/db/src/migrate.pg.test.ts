/**
 * Runs only in the PostgreSQL pass (`pnpm test:postgres`, and scripts/test.sh when a server with
 * pgvector is there): PGlite's one user is a superuser, so a role without the right to create the
 * vector extension exists only on a real server.
 */
import pg from 'pg';
import { openPostgres } from './postgres-db.js';
import { loadMigrations, migrate, MigrationPermissionError } from './migrate.js';
import { withDatabase } from './postgres-test-database.js';

const adminUrl = process.env.QUIRE_TEST_DATABASE_URL!;

/** A fresh database owned by a new LOGIN role that is not a superuser; both dropped afterwards. */
async function withUnprivilegedOwner(fn: (url: string, names: { role: string; database: string }) => Promise<void>): Promise<void> {
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const role = `quire_np_${suffix}`;
  // quire_scratch_<pid>_...: scripts/test-postgres.sh drops such databases a killed run left behind.
  const database = `quire_scratch_${suffix}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    await admin.query(`CREATE DATABASE ${database} OWNER ${role}`);
    const url = new URL(withDatabase(adminUrl, database));
    url.username = role;
    url.password = '';
    await fn(url.toString(), { role, database });
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  }
}

test('a role that may not create the vector extension gets one clear error naming the remedy, and migrates once a superuser created it', async () => {
  await withUnprivilegedOwner(async (url, names) => {
    const db = openPostgres(url);
    try {
      const error = await migrate(db).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MigrationPermissionError);
      const refusal = error as MigrationPermissionError;
      expect(refusal.code).toBe('database_config_invalid');
      expect(refusal.migration).toBe('0001_init');
      expect(refusal.extension).toBe('vector');
      expect(refusal.message).toContain('permission denied to create extension "vector"');
      expect(refusal.message).toContain(`role "${names.role}"`);
      expect(refusal.message).toContain(`database "${names.database}"`);
      expect(refusal.message).toContain('as a superuser');
      expect(refusal.message).toContain('CREATE EXTENSION IF NOT EXISTS vector;');
      // One line, as start-up refusals are printed.
      expect(refusal.message).not.toContain('\n');
      expect((refusal.cause as { code?: string }).code).toBe('42501');
      // Nothing of the failed migration was recorded.
      expect((await db.query('SELECT id FROM quire_migrations')).rows).toEqual([]);

      // The remedy the message names is enough: a superuser creates the extension, the role does the rest.
      const superuser = new pg.Client({ connectionString: withDatabase(adminUrl, names.database) });
      await superuser.connect();
      try {
        await superuser.query('CREATE EXTENSION IF NOT EXISTS vector');
      } finally {
        await superuser.end();
      }
      expect(await migrate(db)).toEqual(loadMigrations().map((m) => m.name));
    } finally {
      await db.close();
    }
  });
});
