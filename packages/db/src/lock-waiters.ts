/** What the wait needs of a connection: a pool, a transaction, or a plain `pg.Client`. */
export interface StatementRunner {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * For race tests on a PostgreSQL server: waits until at least `n` other backends of the database `q`
 * is connected to wait on a heavyweight lock (of `waitEvent`, e.g. 'advisory' or 'transactionid',
 * when given). `q` may be a gate's transaction: statistics views are read once per transaction, so the
 * snapshot is dropped before each look.
 */
export async function waitForLockWaiters(q: StatementRunner, n: number, waitEvent?: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await q.query('SELECT pg_stat_clear_snapshot()');
    const r = await q.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND ($1::text IS NULL OR wait_event = $1)`,
      [waitEvent ?? null],
    );
    if ((r.rows[0] as { n: number }).n >= n) return;
    if (Date.now() > deadline) throw new Error(`fewer than ${n} backends waited on ${waitEvent ?? 'a'} lock within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
