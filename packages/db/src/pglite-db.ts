import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { lockDataDir } from './data-dir-lock.js';
import type { Db, Queryable, QueryResult } from './db.js';

function wrap<T>(result: { rows: T[]; affectedRows?: number }): QueryResult<T> {
  return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
}

/**
 * Postgres settings on top of PGlite's own. `wal_init_zero=off`: Postgres zero-fills each new 16 MB
 * WAL segment before use, which in PGlite's emulated file system is one blocking copy that stalled
 * the single connection for 200-450 ms every ~9,000 ledger rows (and cost ~15% of the insert CPU).
 * Skipping it is what the setting exists for; WAL records are still written and checksummed.
 */
const EXTRA_START_PARAMS = ['-c', 'wal_init_zero=off'];
const startParams = [...PGlite.defaultStartParams, ...EXTRA_START_PARAMS];

/**
 * Embedded Postgres with pgvector. `dataDir` undefined keeps it in memory (tests);
 * `loadDataDir` starts from a dump (a migrated template, so tests skip migrations).
 */
export async function openPGlite(options: { dataDir?: string; loadDataDir?: Blob | File } = {}): Promise<Db & { raw: PGlite }> {
  let lock: { release(): void } | undefined;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    // Beside the folder, not in it: the folder is Postgres's own.
    lock = lockDataDir(`${path.resolve(options.dataDir)}.lock`);
  }
  let pg: PGlite;
  try {
    pg = await PGlite.create({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
      extensions: { vector },
      startParams,
    });
  } catch (error) {
    lock?.release();
    throw error;
  }
  const queryable = (q: { query: PGlite['query']; exec: PGlite['exec'] }): Queryable => ({
    query: async <T>(sql: string, params?: unknown[]) => wrap<T>(await q.query<T>(sql, params as unknown[])),
    exec: async (sql: string) => {
      await q.exec(sql);
    },
  });
  return {
    kind: 'pglite',
    raw: pg,
    ...queryable(pg),
    transaction: (fn) => pg.transaction((tx) => fn(queryable(tx))),
    close: async () => {
      try {
        await pg.close();
      } finally {
        lock?.release();
      }
    },
  };
}
