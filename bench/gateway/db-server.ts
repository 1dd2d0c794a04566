/**
 * The benchmark's database server: a migrated in-memory PGlite served over the PostgreSQL wire
 * protocol, in its own process, so that Quire's gateway runs as deployed with a database server
 * (docker-compose's PostgreSQL) and the two processes' CPU is measured apart.
 */
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { migrate, openPGlite } from '@quire/db';

const db = await openPGlite({});
await migrate(db);
const raw = (db as unknown as { raw: ConstructorParameters<typeof PGLiteSocketServer>[0]['db'] }).raw;
const server = new PGLiteSocketServer({ db: raw, host: '127.0.0.1', port: 0, maxConnections: 16 });
await server.start();
process.stdout.write(`READY ${server.getServerConn().split(':').pop()}\n`);
process.on('SIGTERM', () => {
  void server.stop().finally(() => process.exit(0));
});
