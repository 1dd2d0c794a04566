import { z } from 'zod';
import type { Db } from '@quire/db';
import { deleteTurnsOfQueries } from '@quire/stored-queries';
import type { Logger } from '@quire/server-kit';

/**
 * `QUIRE_QUERY_RETENTION_DAYS`: how many days stored queries (question, answer, quotes), their
 * feedback and conversation turns are kept. Unset or empty: forever, as before the setting existed.
 */
export const queryRetentionDaysSchema = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    const days = Number(value.trim());
    if (!Number.isInteger(days) || days < 1 || days > 36500) {
      ctx.addIssue({ code: 'custom', message: `QUIRE_QUERY_RETENTION_DAYS must be a whole number of days from 1 to 36500 (unset keeps queries forever), not "${value}"` });
      return z.NEVER;
    }
    return days;
  });

export interface QueryRetentionDeps {
  db: Db;
  logger: Logger;
  days: number;
  /** Time between sweeps (default an hour); the first runs at start. */
  intervalMs?: number;
  /** Rows per transaction (default 500): each batch holds its locks only briefly. */
  batchSize?: number;
}

export interface SweepCounts {
  queries: number;
  conversations: number;
}

export interface QueryRetention {
  /** One sweep to the end (every batch); concurrent calls share it. */
  sweep(): Promise<SweepCounts>;
  start(): void;
  /** Stops after the batch in flight. */
  stop(): Promise<void>;
}

/**
 * Deletes what is older than the retention: queries (their feedback goes by cascade) with their
 * conversation turns, then conversations left empty and untouched as long. In batches, each its own
 * transaction, so a first sweep over years of history neither holds locks long nor keeps PGlite's
 * one connection from the requests. Rows another transaction holds (a delete or redaction in flight,
 * or another retrieval process's sweep) are skipped, never waited for (`SKIP LOCKED`), so the sweep
 * stays out of the lock order in @quire/stored-queries; the next sweep takes them.
 * The usage ledger is not touched: it is append-only and holds ids and counts, no text.
 */
export function createQueryRetention(deps: QueryRetentionDeps): QueryRetention {
  const batch = deps.batchSize ?? 500;
  const log = deps.logger.child({ component: 'query-retention' });
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let sweeping: Promise<SweepCounts> | null = null;

  const queriesBatch = () =>
    deps.db.transaction(async (tx) => {
      const old = await tx.query<{ id: string }>(
        `SELECT id FROM queries WHERE created_at < now() - make_interval(days => $1) ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [deps.days, batch],
      );
      const ids = old.rows.map((r) => r.id);
      await deleteTurnsOfQueries(tx, ids);
      if (ids.length > 0) await tx.query(`DELETE FROM queries WHERE id = ANY($1::uuid[])`, [ids]);
      return ids.length;
    });

  // Empty: a conversation untouched since the cutoff had all its turns deleted with their queries above.
  const conversationsBatch = async () => {
    const r = await deps.db.query(
      `DELETE FROM conversations WHERE id IN (
  SELECT cv.id FROM conversations cv
  WHERE cv.updated_at < now() - make_interval(days => $1) AND NOT EXISTS (SELECT 1 FROM conversation_turns t WHERE t.conversation_id = cv.id)
  ORDER BY cv.updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [deps.days, batch],
    );
    return r.rowCount;
  };

  const drain = async (step: () => Promise<number>): Promise<number> => {
    let total = 0;
    for (;;) {
      if (stopped) return total;
      const n = await step();
      total += n;
      if (n < batch) return total;
    }
  };

  const sweepOnce = async (): Promise<SweepCounts> => {
    const counts = { queries: await drain(queriesBatch), conversations: 0 };
    counts.conversations = await drain(conversationsBatch);
    if (counts.queries > 0 || counts.conversations > 0) log.info('query retention deleted old queries and conversations', { ...counts, retention_days: deps.days });
    return counts;
  };

  const sweep = (): Promise<SweepCounts> => {
    sweeping ??= sweepOnce().finally(() => {
      sweeping = null;
    });
    return sweeping;
  };

  const background = () => {
    sweep().catch((error: unknown) => log.warn('query retention sweep failed; the next one retries', { err: String(error) }));
  };

  return {
    sweep,
    start() {
      if (timer || stopped) return;
      // Not awaited: a first sweep over a long history must not hold up the service's start.
      background();
      timer = setInterval(background, deps.intervalMs ?? 60 * 60 * 1000);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await sweeping?.catch(() => undefined);
    },
  };
}
