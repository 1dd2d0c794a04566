import path from 'node:path';
import type { Db } from './db.js';
import { openPGlite } from './pglite-db.js';
import { openPostgres } from './postgres-db.js';
import { migrate } from './migrate.js';

/**
 * Opens the configured database and brings its schema up to date: PostgreSQL when `databaseUrl` is
 * set, otherwise embedded PGlite under `dataDir` (`<dataDir>/pgdata`).
 */
export async function openDatabase(options: { databaseUrl?: string; dataDir?: string; migrate?: boolean }): Promise<Db> {
  const db = options.databaseUrl
    ? openPostgres(options.databaseUrl)
    : await openPGlite(options.dataDir ? { dataDir: path.join(options.dataDir, 'pgdata') } : {});
  if (options.migrate !== false) await migrate(db);
  return db;
}
