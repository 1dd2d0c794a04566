import { randomUUID } from 'node:crypto';
import type { Db } from '@quire/db';
import { claimKeywordIndexRebuild, finishKeywordIndexRebuild, rebuildKeywordIndexBatch, releaseKeywordIndexRebuild, staleKeywordIndexes } from '@quire/index-versions';
import type { Logger } from '@quire/server-kit';
import { createSerialWork } from './serial-work.js';

export interface KeywordIndexMaintainerDeps {
  db: Db;
  logger: Logger;
  /** Chunks rewritten per transaction at most (one document's, at most this many). */
  batchChunks: number;
  /** How long a rebuild's lease lasts without a batch renewing it: a crashed process's rebuild is taken over after it. */
  leaseMs: number;
  /** How often to look for stale collections (a language changed through another process, a lease run out). 0: only at start and when told. */
  sweepIntervalMs: number;
  /** True while ingestion jobs run: batches then leave the connection free most of the time. */
  busy?: () => boolean;
  /** Tests: called after each batch commits (throwing there stops the rebuild, as a crash would). */
  afterBatch?: (collectionId: string, rebuilt: number) => void | Promise<void>;
  /** This process's name on the leases (default: a random id). */
  owner?: string;
}

/**
 * Rebuilds collections' BM25 postings in the background when they were built with another analyser
 * version or language than search uses now (see keyword-index-state.ts in @quire/index-versions):
 * the stale ones at start and every `sweepIntervalMs`, and a collection at once when told (a language
 * change in this process). Everything is in the database (per-chunk tags, a lease per collection), so
 * several processes may run one each and a restart resumes where a rebuild stopped.
 */
export function createKeywordIndexMaintainer(deps: KeywordIndexMaintainerDeps) {
  const log = deps.logger.child({ component: 'keyword-index' });
  const owner = deps.owner ?? `ingestion-${randomUUID()}`;
  let timer: NodeJS.Timeout | null = null;
  const work = createSerialWork({
    run: rebuild,
    async failed(id, error) {
      // The lease goes, so the next sweep (here or in another process) resumes it.
      if (!work.stopped) log.warn('keyword index rebuild failed', { collection_id: id, err: String(error) });
      await releaseKeywordIndexRebuild(deps.db, id, owner).catch(() => undefined);
    },
  });

  async function rebuild(collectionId: string): Promise<void> {
    if (!(await deps.db.transaction((tx) => claimKeywordIndexRebuild(tx, collectionId, owner, deps.leaseMs)))) return;
    const t = performance.now();
    let chunks = 0;
    for (;;) {
      let after: string | null = null;
      for (;;) {
        if (work.stopped) return void (await releaseKeywordIndexRebuild(deps.db, collectionId, owner));
        const started = performance.now();
        const batch = await deps.db.transaction((tx) => rebuildKeywordIndexBatch(tx, collectionId, { owner, leaseMs: deps.leaseMs, maxChunks: deps.batchChunks, after }));
        if (batch === 'lost') return;
        if (batch === 'end') break;
        chunks += batch.rebuilt;
        after = batch.documentId;
        await deps.afterBatch?.(collectionId, batch.rebuilt);
        // Writers and searches share the connection (PGlite has one): while jobs run, leave it free nine tenths of the time.
        const ms = performance.now() - started;
        await new Promise<void>((resolve) => (deps.busy?.() ? setTimeout(resolve, ms * 9) : setImmediate(resolve)));
      }
      const finished = await deps.db.transaction((tx) => finishKeywordIndexRebuild(tx, collectionId, owner));
      if (finished === 'lost') return;
      if (finished === 'current') break;
    }
    log.info('keyword index rebuilt', { collection_id: collectionId, chunks, ms: Math.round(performance.now() - t) });
  }

  async function sweep(): Promise<void> {
    for (const id of await staleKeywordIndexes(deps.db)) work.add(id);
  }

  return {
    /** A collection's language (or anything else its postings depend on) may have changed: rebuild it if so. */
    notify(collectionId: string): void {
      work.add(collectionId);
    },
    /** Queues every stale collection, then looks again every `sweepIntervalMs`. */
    async start(): Promise<void> {
      await work.resume();
      await sweep();
      if (deps.sweepIntervalMs > 0 && !timer) {
        timer = setInterval(() => void sweep().catch((error: unknown) => log.warn('keyword index sweep failed', { err: String(error) })), deps.sweepIntervalMs);
        timer.unref();
      }
    },
    /** Resolves once every collection it was told about is rebuilt (or left to another process). */
    idle: () => work.idle(),
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await work.stop();
    },
  };
}
export type KeywordIndexMaintainer = ReturnType<typeof createKeywordIndexMaintainer>;
