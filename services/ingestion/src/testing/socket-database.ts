import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { openTestDatabase, type Db, type PostgresTestDatabase } from '@quire/db';

/**
 * A migrated PGlite served over the PostgreSQL wire protocol (or, under `QUIRE_TEST_DATABASE_URL`, a
 * database on that server), so several processes (ingestion
 * workers) can share one database through `pg`. The server runs one transaction at a time.
 */
export async function startSocketDatabase(maxConnections = 32): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.QUIRE_TEST_DATABASE_URL) {
    // A real server already speaks the protocol to many processes, and runs their transactions concurrently.
    const db = (await openTestDatabase()) as PostgresTestDatabase;
    return { url: db.connectionString, stop: () => db.close() };
  }
  const db = (await openTestDatabase()) as Db & { raw: ConstructorParameters<typeof PGLiteSocketServer>[0]['db'] };
  const server = new PGLiteSocketServer({ db: db.raw, host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
