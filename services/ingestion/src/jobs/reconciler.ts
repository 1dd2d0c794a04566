import type { Db } from '@quire/db';
import type { Logger } from '@quire/server-kit';
import { DEFAULT_LIMITS } from '../limits.js';
import { findUnfinished, setJobId, takeOverOrphans, takeOverStale, type UnfinishedDocument } from '../repo/document-jobs-repo.js';
import type { IngestDocumentPayload } from './ingest-document-job.js';
import type { JobQueue } from '@quire/jobs';

const SWEEP_LIMIT = 500;

export interface Reconciler {
  /** One sweep; `all` also takes documents touched moments ago (used at start-up). */
  sweep(all: boolean): Promise<number>;
  /**
   * Only with `soleWorker` (0 otherwise): takes over, without waiting for the stall limits, every
   * document an earlier process left `processing`, and enqueues it. Call it before the job runner
   * starts: then nothing this process has claimed can be among them.
   */
  adoptOrphans(): Promise<number>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Postgres is the record of accepted work; the queue only carries it. The reconciler closes the
 * gap between them: uploads whose enqueue failed after commit, jobs lost with a crashed process,
 * workers that died (no sign of life) and attempts that stopped making progress. Duplicate enqueues are harmless (same job id, and the
 * handler's exclusive claim: a delivery while a live attempt holds the document is a no-op).
 */
export function createReconciler(deps: {
  db: Db;
  queue: JobQueue<IngestDocumentPayload>;
  logger: Logger;
  intervalMs: number;
  staleAfterMs: number;
  /** A processing document whose holder showed no sign of life for this long is taken over (default: DEFAULT_LIMITS.deadAfterMs). */
  deadAfterMs?: number;
  /** A stalled document that has had this many attempts fails (`stalled`) instead of being retried. */
  maxAttempts: number;
  /**
   * True when this process is the only one that can run these documents' jobs (the in-process queue:
   * ingestion without Redis runs in one process), so that at start-up any `processing` document is an
   * orphan of an earlier process. False (BullMQ): several processes share the queue, and a
   * `processing` document may be another's live attempt; only the stall limits tell.
   */
  soleWorker?: boolean;
}): Reconciler {
  let timer: NodeJS.Timeout | null = null;
  let sweeping: Promise<number> | null = null;

  const enqueue = async (doc: UnfinishedDocument) => {
    // Documents from before submitted_identity existed run as a service identity of their team.
    const identity = doc.identity ?? { team_id: doc.teamId, key_id: 'ingestion-reconciler', role: 'service' as const, groups: [] };
    const { jobId } = await deps.queue.enqueue({
      documentId: doc.documentId,
      collectionId: doc.collectionId,
      version: doc.version,
      identity,
      traceId: doc.traceId ?? `reconcile_${doc.documentId.replace(/-/g, '')}`,
    });
    // A takeover bumps the version, and with it the job id the document reports.
    await setJobId(deps.db, doc.documentId, jobId, doc.version);
  };

  const sweepOnce = async (all: boolean): Promise<number> => {
    const stale = await takeOverStale(deps.db, deps.staleAfterMs, SWEEP_LIMIT, deps.maxAttempts, deps.deadAfterMs ?? DEFAULT_LIMITS.deadAfterMs);
    // Waiting a whole interval before touching a document leaves fresh uploads to their own enqueue.
    const unfinished = await findUnfinished(deps.db, all ? 0 : deps.intervalMs, SWEEP_LIMIT);
    const byId = new Map([...unfinished, ...stale].map((d) => [d.documentId, d]));
    for (const doc of byId.values()) await enqueue(doc);
    if (byId.size > 0) deps.logger.info('reconciler re-enqueued documents', { count: byId.size, stale: stale.length });
    return byId.size;
  };

  const sweep = (all: boolean): Promise<number> => {
    sweeping ??= sweepOnce(all).finally(() => {
      sweeping = null;
    });
    return sweeping;
  };

  const adoptOrphans = async (): Promise<number> => {
    if (!deps.soleWorker) return 0;
    // A process holds at most its concurrency (64 at most) documents `processing`: one batch takes all of them.
    const orphans = await takeOverOrphans(deps.db, SWEEP_LIMIT, deps.maxAttempts);
    for (const doc of orphans) await enqueue(doc);
    if (orphans.length > 0) deps.logger.info('took over documents an earlier process left processing', { count: orphans.length });
    return orphans.length;
  };

  return {
    sweep,
    adoptOrphans,
    async start() {
      // Redis down at start (enqueues now fail fast) must not keep the service from starting: the
      // documents stay queued in the database and the next interval's sweep enqueues them.
      await sweep(true).catch((error: unknown) => deps.logger.warn('reconciler start-up sweep failed; the next sweep will retry', { err: String(error) }));
      timer = setInterval(() => {
        sweep(false).catch((error) => deps.logger.warn('reconciler sweep failed', { err: String(error) }));
      }, deps.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await sweeping?.catch(() => undefined);
    },
  };
}
