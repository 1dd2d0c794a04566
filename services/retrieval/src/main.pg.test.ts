/**
 * Runs only in the PostgreSQL pass (`pnpm test:postgres`, and scripts/test.sh when a server with
 * pgvector is there): a database role that may not create the vector extension exists only on a real
 * server. main.ts says so in one log line with the remedy, not with a stack trace.
 */
import { fileURLToPath } from 'node:url';
import { loadMigrations, openPostgres, type MigrationPermissionError } from '@quire/db';
import { exitWithin, startServiceProcess } from '@quire/fakes';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const adminUrl = process.env.QUIRE_TEST_DATABASE_URL!;

test('a database role that may not create the vector extension: exit 1 with one line naming the remedy', async () => {
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const role = `quire_np_${suffix}`;
  // quire_scratch_<pid>_...: scripts/test-postgres.sh drops such databases a killed run left behind.
  const database = `quire_scratch_${suffix}`;
  const admin = openPostgres(adminUrl, { max: 1 });
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    await admin.query(`CREATE DATABASE ${database} OWNER ${role}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    url.username = role;
    url.password = '';
    const child = startServiceProcess(ROOT, 'services/retrieval/src/main.ts', {
      QUIRE_LOG_LEVEL: 'info', DATABASE_URL: url.toString(),
      QUIRE_INTERNAL_SECRET: 'retrieval-main-test-secret-0123456789', QUIRE_GATEWAY_URL: 'http://127.0.0.1:9', RETRIEVAL_HOST: '127.0.0.1', RETRIEVAL_PORT: '0',
    });
    const code = await exitWithin(child, 30_000);
    if (code === 'still running') child.process.kill('SIGKILL');
    expect(code).toBe(1);
    const logged = child.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'retrieval failed to start',
        code: 'database_config_invalid' satisfies MigrationPermissionError['code'],
        reason: expect.stringContaining('CREATE EXTENSION IF NOT EXISTS vector;'),
      }),
    ]);
    // It names the migration that needs the extension (the first), and leaves the stack out.
    expect(logged[0]!.reason).toContain(`migration ${loadMigrations()[0]!.name} failed`);
    expect(logged[0]).not.toHaveProperty('err');
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.close();
  }
}, 60_000);
