import pg from 'pg';
import type { Db, Queryable } from './db.js';

// pg returns int8 and numeric as strings (exact money); queries cast counts to int where they need numbers.

export interface PostgresOptions {
  max?: number;
  /** Told when the server drops an idle connection; a process warning by default. */
  onIdleError?: (error: Error) => void;
  /**
   * How long opening a connection may take (default 10 s). pg's own default is to wait for ever, so a
   * database host that accepts TCP but never answers hung start-up and every readiness probe.
   */
  connectTimeoutMs?: number;
}

export function openPostgres(connectionString: string, options: PostgresOptions = {}): Db {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000 });
  // An idle connection the server drops (a restart, a failover, pg_terminate_backend) makes the pool emit
  // 'error'; unheard, that event would end the process. pg has already removed the broken client and the
  // next query opens a new one, so a warning is all it takes. A query in flight gets its own error.
  const onIdleError = options.onIdleError ?? ((error: Error) => process.emitWarning(`PostgreSQL dropped an idle connection: ${error.message}`, { code: 'QUIRE_PG_IDLE_ERROR' }));
  pool.on('error', onIdleError);
  const queryable = (client: pg.Pool | pg.PoolClient): Queryable => ({
    query: async <T>(sql: string, params?: unknown[]) => {
      const result = await client.query(sql, params as unknown[]);
      return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
    },
    exec: async (sql: string) => {
      await client.query(sql);
    },
  });
  return {
    kind: 'postgres',
    ...queryable(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        // Explicit, whatever the server's default: the lock protocols (collection-locks.ts) read what
        // committed before a lock was granted, which needs a fresh snapshot per statement.
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        const value = await fn(queryable(client));
        await client.query('COMMIT');
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
