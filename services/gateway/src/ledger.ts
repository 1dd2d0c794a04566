import { randomUUID } from 'node:crypto';
import type { Identity, Purpose } from '@quire/contracts';
import type { Db } from '@quire/db';
import type { UsageV1 } from '@quire/models';
import type { Logger } from '@quire/server-kit';
import { LedgerJournal, type ReplayFile, type Segment } from './ledger-journal.js';
import { insertRows, MAX_BATCH, rowValues, type RowValues } from './ledger-sql.js';

/** Who a model call is for and why: every ledger row carries it. */
export interface Attribution {
  traceId: string;
  /**
   * The gateway's id for this caller request, unique per request (the trace id is the caller's
   * `x-request-id` when given, so it may repeat); `/v1/usage` counts requests by it. Absent for the
   * services' calls on a caller's behalf, which are counted by key and trace id.
   */
  requestId?: string | undefined;
  identity: Identity;
  purpose: Purpose;
  collectionId?: string | undefined;
  queryId?: string | undefined;
  documentId?: string | undefined;
}

export interface LedgerEntry {
  attribution: Attribution;
  capability: 'chat' | 'embedding' | 'rerank';
  provider: string;
  model: string;
  route?: string;
  attempt: number;
  stream: boolean;
  status: 'ok' | 'error' | 'aborted';
  errorCode?: string;
  usage: UsageV1;
  costUsd: string | null;
  latencyMs: number;
  firstTokenMs?: number;
  providerRequestId?: string;
  /** Why this target was tried: the strategy's choice, budget and latency decisions, skipped targets. */
  routeReason?: string;
  /** The target this attempt fell back from, when an earlier target failed. */
  fallbackFrom?: string;
}

export interface LedgerOptions {
  /**
   * Where the write-ahead journal lives (`$QUIRE_DATA_DIR/ledger-journal`). Without it every
   * `record()` waits for its row's first INSERT (group commit), as a gateway without local disk must.
   */
  journalDir?: string;
  /** How long journalled rows may wait to be batched into one INSERT (default 50 ms). */
  flushDelayMs?: number;
  /** How often the journal is fsynced: the power-loss window (default 100 ms). */
  fsyncIntervalMs?: number;
  /** First wait before an earlier process's journal is replayed again after a failed replay (default 5 s, doubling to 5 min). */
  replayRetryMs?: number;
}

interface Pending {
  row: RowValues;
  /** The journal segment that holds the row; none when it lives in memory only (no journal, or the journal write failed). */
  segment: Segment | undefined;
  tries: number;
  resolve: (() => void) | undefined;
}

const RESOLVED = Promise.resolve();
/** INSERT tries for a row held only in memory: about a minute of backoff before it is logged whole and given up. */
const MEMORY_TRIES = 8;
/** Rows held only in memory at most; past it a failed row is logged whole and given up at once. */
const MEMORY_ROWS = 10_000;
const MAX_REPLAY_RETRY_MS = 300_000;

/**
 * Rows the caller reads back right after the call, so their response waits for the commit: the
 * platform services' calls (signed identity: a purpose other than `api`, or a query, document or
 * collection) — retrieval sums a query's cost from the ledger as soon as its model calls return.
 */
function readBackSoon(a: Attribution): boolean {
  return a.purpose !== 'api' || a.queryId !== undefined || a.documentId !== undefined || a.collectionId !== undefined;
}

/** The columns a log line about a row needs (RowValues order, see ledger-sql.ts). */
function rowFields(row: RowValues): Record<string, unknown> {
  const [traceId, teamId, , , , , , , provider, model] = row as string[];
  return { trace_id: traceId, team_id: teamId, provider, model };
}

/**
 * Append-only record of every provider attempt (the table refuses updates and deletes).
 *
 * `record()` never rejects: the provider call it meters happened whatever the database says, so a
 * ledger failure must not turn a billed success into an error, nor replace a provider's error. A
 * row that could not be written is kept and retried: in the journal until the database takes it,
 * or, held only in memory (no journal, or a journal write that failed), for MEMORY_TRIES tries with
 * backoff, every failure logged; a row given up on is logged whole, so it is never lost silently.
 *
 * Without a journal, `record()` resolves once its row's first INSERT ended, and rows that arrive
 * while one INSERT is in flight go together in the next multi-row INSERT (group commit).
 *
 * With a journal (`journalDir`), `record()` first appends the row to a local file (synchronously, so
 * it survives a kill of the process) under a fresh `idempotency_key`, and resolves at once for
 * external API calls; rows go to the database in the background in large batches with
 * `ON CONFLICT (idempotency_key) DO NOTHING`, and a journal file is deleted only after all its rows
 * are committed. On start, files left by a previous process are replayed (idempotently), and replayed
 * again later while the database refuses them. Rows of the platform services' calls (see
 * `readBackSoon`) still wait for their first INSERT. The cost of the fast path: `/v1/usage` and
 * budgets see an external call up to `flushDelayMs` (plus one INSERT) late, and the database lags
 * behind the journal while it is unreachable.
 *
 * A row recorded after `close()` is not dropped either (see `recordAfterClose`).
 */
export class Ledger {
  /** Resolves once the previous process's journal had its first replay (at once without a journal). */
  readonly ready: Promise<void>;
  private queue: Pending[] = [];
  private waiting = 0;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate = false;
  private closed = false;
  private retrying: Pending[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private replayTimer: NodeJS.Timeout | undefined;
  private journalFailures = 0;
  private readonly journal: LedgerJournal | undefined;
  private readonly journalDir: string | undefined;
  private readonly flushDelayMs: number;
  private readonly replayRetryMs: number;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    options: LedgerOptions = {},
  ) {
    this.flushDelayMs = options.flushDelayMs ?? 50;
    this.replayRetryMs = options.replayRetryMs ?? 5_000;
    this.journalDir = options.journalDir;
    if (options.journalDir) {
      const leftovers = LedgerJournal.readLeftovers(options.journalDir, logger);
      this.journal = new LedgerJournal(options.journalDir, logger, options.fsyncIntervalMs ?? 100);
      this.ready = this.replay(leftovers, this.replayRetryMs);
    } else {
      this.ready = RESOLVED;
    }
  }

  record(entry: LedgerEntry): Promise<void> {
    const row = rowValues(entry, randomUUID());
    if (this.closed) {
      this.recordAfterClose(row);
      return RESOLVED;
    }
    const segment = this.append(row);
    const pending: Pending = { row, segment, tries: 0, resolve: undefined };
    this.queue.push(pending);
    if (segment && !readBackSoon(entry.attribution)) {
      this.schedule(false);
      return RESOLVED;
    }
    this.waiting++;
    return new Promise<void>((resolve) => {
      pending.resolve = resolve;
      this.schedule(true);
    });
  }

  /** Tries every row recorded so far once more, those waiting for a retry included (tests, shutdown). */
  async flush(): Promise<void> {
    await this.ready;
    if (this.retrying.length > 0) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.queue.unshift(...this.retrying);
      this.retrying = [];
    }
    while (this.queue.length > 0 || this.running) {
      if (!this.running) this.start();
      await this.running;
    }
  }

  /**
   * Flushes what the database accepts, then closes the journal (what is left in it is replayed on the
   * next start); rows held only in memory that the database still refuses are logged whole.
   */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush().catch((error: unknown) => this.logger.error('ledger flush at close failed', { err: String(error) }));
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.replayTimer) clearTimeout(this.replayTimer);
    for (const p of this.retrying) if (!p.segment) this.giveUp(p, 'the gateway stopped before the database took it');
    this.retrying = [];
    this.journal?.close();
  }

  /**
   * A row of a call that ended after close() (a handler the drain deadline cut off, a stream whose
   * client left): the database may already be gone, so it goes to a journal file of its own, which the
   * next start replays, or, without a journal or when that write fails, whole into the log.
   */
  private recordAfterClose(row: RowValues): void {
    if (this.journalDir) {
      try {
        const late = new LedgerJournal(this.journalDir, this.logger, 60_000);
        try {
          late.append(row);
        } finally {
          late.close();
        }
        this.logger.warn('ledger row recorded after close; journalled for the next start to replay', rowFields(row));
        return;
      } catch (error) {
        this.logger.error('ledger journal write after close failed', { ...rowFields(row), err: String(error) });
      }
    }
    this.logger.error('ledger row recorded after close; not written, the row follows', { ...rowFields(row), row: JSON.stringify(row) });
  }

  /**
   * Journals a row. A journal that cannot write (a full disk) must not fail the call it meters: the
   * row then goes the memory path, as without a journal, and waits for its INSERT.
   */
  private append(row: RowValues): Segment | undefined {
    if (!this.journal) return undefined;
    try {
      return this.journal.append(row);
    } catch (error) {
      // Every 100th after the first: a full disk fails every row, and each is still retried from memory.
      if (this.journalFailures++ % 100 === 0) {
        this.logger.error('ledger journal write failed; rows are kept in memory until committed', { ...rowFields(row), failures: this.journalFailures, err: String(error) });
      }
      return undefined;
    }
  }

  /** Waiting rows go after this turn of the event loop (so the turn's other rows join); others after `flushDelayMs` or a full batch. */
  private schedule(now: boolean): void {
    if (this.running) return; // the running flush looks at the queue again when it ends
    if (now || this.queue.length >= MAX_BATCH) {
      if (this.immediate) return;
      this.immediate = true;
      setImmediate(() => {
        this.immediate = false;
        if (!this.running) this.start();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.running) this.start();
      }, this.flushDelayMs);
    }
  }

  private start(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.schedule(this.waiting > 0);
    });
  }

  private async run(): Promise<void> {
    await this.ready;
    const batch = this.queue.splice(0, MAX_BATCH);
    for (const p of batch) if (p.resolve) this.waiting--;
    try {
      await insertRows(this.db, batch.map((p) => p.row));
      for (const p of batch) this.committed(p);
    } catch (error) {
      if (batch.length === 1) return this.failed(batch[0]!, error);
      // One bad row must not hold back the others: write them one by one to find it.
      for (const p of batch) {
        await insertRows(this.db, [p.row]).then(() => this.committed(p), (e: unknown) => this.failed(p, e));
      }
    }
  }

  private committed(p: Pending): void {
    p.resolve?.();
    p.resolve = undefined;
    if (!p.segment || this.closed) return;
    try {
      this.journal!.settle(p.segment);
    } catch (error) {
      // The row is in the database; a segment left behind is replayed harmlessly (idempotent).
      this.logger.warn('ledger journal: settling a committed row failed', { file: p.segment.file, err: String(error) });
    }
  }

  private failed(p: Pending, error: unknown): void {
    p.tries++;
    const inMemory = p.segment === undefined;
    // The call already happened; losing its cost silently would be worse than a loud log line.
    if (inMemory || p.tries === 1 || p.tries % 10 === 0) {
      this.logger.error('ledger write failed; row kept for retry', { ...rowFields(p.row), tries: p.tries, kept_in: inMemory ? 'memory' : 'journal', err: String(error) });
    }
    // The response does not wait for a database that is down: the row is kept below.
    p.resolve?.();
    p.resolve = undefined;
    if (this.closed) {
      if (inMemory) this.giveUp(p, error);
      return;
    }
    if (inMemory && (p.tries >= MEMORY_TRIES || this.retrying.length >= MEMORY_ROWS)) return this.giveUp(p, error);
    // Journalled rows stay in the file and are retried with backoff until the database takes them.
    this.retrying.push(p);
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed) return;
      this.queue.unshift(...this.retrying);
      this.retrying = [];
      this.schedule(false);
    }, Math.min(30_000, 100 * 2 ** Math.min(p.tries, 9)));
    this.retryTimer.unref();
  }

  /** A row held only in memory that will not be tried again: logged whole, to be inserted by hand from the log. */
  private giveUp(p: Pending, reason: unknown): void {
    this.logger.error('ledger row given up after retries; the row follows', { ...rowFields(p.row), tries: p.tries, err: String(reason), row: JSON.stringify(p.row) });
  }

  /**
   * Files journalled by an earlier process: insert (duplicates of committed rows are skipped), then
   * delete. Files the database cannot take now (unreachable) are tried again later, with backoff.
   */
  private async replay(files: ReplayFile[], delayMs: number): Promise<void> {
    const left: ReplayFile[] = [];
    for (const file of files) if (!(await this.replayFile(file))) left.push(file);
    if (left.length === 0 || this.closed) return;
    this.logger.error('ledger journal replay failed; kept, and tried again later', { files: left.map((f) => f.file), retry_in_ms: delayMs });
    this.replayTimer = setTimeout(() => {
      this.replayTimer = undefined;
      if (!this.closed) void this.replay(left, Math.min(MAX_REPLAY_RETRY_MS, delayMs * 2));
    }, delayMs);
    this.replayTimer.unref();
  }

  /** True when the file is done with (all rows in the database, or set aside); false to try again later. */
  private async replayFile({ file, rows }: ReplayFile): Promise<boolean> {
    try {
      const bad: RowValues[] = [];
      let firstError: unknown;
      for (let i = 0; i < rows.length; i += MAX_BATCH) {
        const batch = rows.slice(i, i + MAX_BATCH);
        try {
          await insertRows(this.db, batch);
          continue;
        } catch {
          // Row by row, to tell a bad row from a database that is not answering.
        }
        for (const row of batch) {
          try {
            await insertRows(this.db, [row]);
          } catch (error) {
            // A row refused for its data (SQLSTATE class 22, data exception; 23, integrity) would be
            // refused on every start and hold back the rest of the file, so it is set aside. Anything
            // else (a lock or statement timeout, a database going away) is retried later, whole.
            if (!isBadRow(error) || !(await this.reachable())) return false;
            firstError ??= error;
            bad.push(row);
          }
        }
      }
      if (bad.length > 0) {
        const quarantine = LedgerJournal.quarantine(file, bad);
        this.logger.error('ledger journal: rows the database refuses set aside; fix and move them back to replay', { file, quarantine, rows: bad.length, err: String(firstError) });
      }
      LedgerJournal.remove(file);
      this.logger.info('ledger journal replayed', { file, rows: rows.length - bad.length });
      return true;
    } catch (error) {
      this.logger.error('ledger journal replay of a file failed', { file, err: String(error) });
      return false;
    }
  }

  private async reachable(): Promise<boolean> {
    try {
      await this.db.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }
}

/** A row the database refuses for what it holds, not for the database's own state. */
function isBadRow(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
