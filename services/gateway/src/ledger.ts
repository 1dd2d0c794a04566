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
   * `record()` waits for its row to be committed (group commit), as a gateway without local disk must.
   */
  journalDir?: string;
  /** How long journalled rows may wait to be batched into one INSERT (default 50 ms). */
  flushDelayMs?: number;
  /** How often the journal is fsynced: the power-loss window (default 100 ms). */
  fsyncIntervalMs?: number;
}

interface Pending {
  row: RowValues;
  segment: Segment | undefined;
  tries: number;
  resolve: (() => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
}

const RESOLVED = Promise.resolve();

/**
 * Rows the caller reads back right after the call, so their response waits for the commit: the
 * platform services' calls (signed identity: a purpose other than `api`, or a query, document or
 * collection) — retrieval sums a query's cost from the ledger as soon as its model calls return.
 */
function readBackSoon(a: Attribution): boolean {
  return a.purpose !== 'api' || a.queryId !== undefined || a.documentId !== undefined || a.collectionId !== undefined;
}

/**
 * Append-only record of every provider attempt (the table refuses updates and deletes).
 *
 * Without a journal, `record()` resolves once its row is committed, and rows that arrive while one
 * INSERT is in flight go together in the next multi-row INSERT (group commit).
 *
 * With a journal (`journalDir`), `record()` first appends the row to a local file (synchronously, so
 * it survives a kill of the process) under a fresh `idempotency_key`, and resolves at once for
 * external API calls; rows go to the database in the background in large batches with
 * `ON CONFLICT (idempotency_key) DO NOTHING`, and a journal file is deleted only after all its rows
 * are committed. On start, files left by a previous process are replayed (idempotently). Rows of
 * the platform services' calls (see `readBackSoon`) still wait for their commit. The cost of the
 * fast path: `/v1/usage` and budgets see an external call up to `flushDelayMs` (plus one INSERT)
 * late, and the database lags behind the journal while it is unreachable.
 */
export class Ledger {
  /** Resolves once the previous process's journal has been replayed (at once without a journal). */
  readonly ready: Promise<void>;
  private queue: Pending[] = [];
  private waiting = 0;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate = false;
  private closed = false;
  private retrying: Pending[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly journal: LedgerJournal | undefined;
  private readonly flushDelayMs: number;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    options: LedgerOptions = {},
  ) {
    this.flushDelayMs = options.flushDelayMs ?? 50;
    if (options.journalDir) {
      const leftovers = LedgerJournal.readLeftovers(options.journalDir, logger);
      this.journal = new LedgerJournal(options.journalDir, logger, options.fsyncIntervalMs ?? 100);
      this.ready = this.replay(leftovers);
    } else {
      this.ready = RESOLVED;
    }
  }

  record(entry: LedgerEntry): Promise<void> {
    const row = rowValues(entry, randomUUID());
    const pending: Pending = { row, segment: this.journal?.append(row), tries: 0, resolve: undefined, reject: undefined };
    this.queue.push(pending);
    if (this.journal && !readBackSoon(entry.attribution)) {
      this.schedule(false);
      return RESOLVED;
    }
    this.waiting++;
    return new Promise<void>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
      this.schedule(true);
    });
  }

  /** Commits every row recorded so far (tests, shutdown). */
  async flush(): Promise<void> {
    await this.ready;
    while (this.queue.length > 0 || this.running) {
      if (!this.running) this.start();
      await this.running;
    }
  }

  /** Flushes what the database accepts, then closes the journal (what is left in it is replayed on the next start). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush().catch((error: unknown) => this.logger.error('ledger flush at close failed', { err: String(error) }));
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.journal?.close();
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
    if (p.segment && !this.closed) this.journal!.settle(p.segment);
    p.resolve?.();
  }

  private failed(p: Pending, error: unknown): void {
    if (!this.journal || p.tries === 0 || p.tries % 10 === 0) {
      const [traceId, , , , , , , , provider, model] = p.row as string[];
      // The call already happened; losing its cost silently would be worse than a loud log line.
      this.logger.error('ledger write failed', { trace_id: traceId, provider, model, tries: p.tries + 1, err: String(error) });
    }
    p.tries++;
    p.reject?.(error);
    p.resolve = undefined;
    p.reject = undefined;
    // Journalled rows stay in the file and are retried with backoff until the database takes them.
    if (!this.journal || this.closed) return;
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

  /** Rows journalled by an earlier process: insert (duplicates of committed rows are skipped), then delete the file. */
  private async replay(files: ReplayFile[]): Promise<void> {
    for (const { file, rows } of files) {
      try {
        for (let i = 0; i < rows.length; i += MAX_BATCH) await insertRows(this.db, rows.slice(i, i + MAX_BATCH));
        LedgerJournal.remove(file);
        this.logger.info('ledger journal replayed', { file, rows: rows.length });
      } catch (error) {
        this.logger.error('ledger journal replay failed; kept for the next start', { file, err: String(error) });
      }
    }
  }
}
