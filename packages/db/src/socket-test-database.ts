import type { Db } from './db.js';
import type { PostgresTestDatabase } from './postgres-test-database.js';
import { openTestDatabase } from './test-database.js';

export interface SocketTestDatabase {
  /** A `postgres://` URL that other processes (a service's main.ts, ingestion workers) connect to with `pg`. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A migrated test database that other processes reach over the PostgreSQL wire protocol: PGlite
 * served by pglite-socket (one transaction at a time), or, under `QUIRE_TEST_DATABASE_URL`, a fresh
 * database on that server, which runs their transactions concurrently.
 */
export async function startSocketTestDatabase(maxConnections = 32): Promise<SocketTestDatabase> {
  if (process.env.QUIRE_TEST_DATABASE_URL) {
    const db = (await openTestDatabase()) as PostgresTestDatabase;
    return { url: db.connectionString, stop: () => db.close() };
  }
  // Loaded here, not at the top: only tests serve PGlite over a socket.
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
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
