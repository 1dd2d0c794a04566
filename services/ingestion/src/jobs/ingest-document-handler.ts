import { UnrecoverableError } from 'bullmq';
import type { DocumentStage } from '@quire/contracts';
import type { Db } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import { signIdentity, type Logger } from '@quire/server-kit';
import { embedChunks } from '../embed/embed-chunks.js';
import { embeddingInput } from '../embed/embedding-input.js';
import type { ProviderLimiter } from '../embed/provider-semaphore.js';
import { indexChunks, type VersionVectors } from '../index/index-chunks.js';
import type { IngestionLimits } from '../limits.js';
import type { ChunkedDocument, ParseSummary } from '../parse/parse-and-chunk.js';
import type { ParsePool } from '../parse/parse-pool.js';
import { loadBuildingVersions, loadIndexTarget } from '../repo/collections-repo.js';
import { claimDocument, markFailed, markRetrying, updateProgress, type ClaimedDocument, type ProgressUpdate } from '../repo/document-jobs-repo.js';
import { keepAttemptAlive } from './attempt-alive.js';
import { AttemptLostError } from './attempt-lost-error.js';
import { classifyFailure, failureMessage, NoTextError } from './classify-failure.js';
import type { IngestDocumentPayload } from './ingest-document-job.js';
import type { JobHandler } from '@quire/jobs';

export interface IngestHandlerDeps {
  db: Db;
  models: GatewayModels;
  logger: Logger;
  internalSecret: string;
  limits: IngestionLimits;
  parsePool: ParsePool;
  limiter: ProviderLimiter;
  /** Told about every version that received vectors, so it can build or extend the version's graph. */
  graphs?: { notify(indexVersionId: string, added: number): void };
}

/**
 * parse + chunk (in a parse worker) -> embed -> index for one document version. The handler records the final state
 * itself (it knows whether this was the last attempt), then tells the runner whether to retry.
 *
 * An attempt that learns it no longer owns its document (a progress write or the keep-alive finds
 * the row deleted, taken over or replaced under a newer version, or no longer `processing`) stops
 * before its next embedding batch and cancels the call in flight. That is not a failure of the
 * document, which is deleted or another attempt's now: the job completes, writing nothing.
 */
export function createIngestDocumentHandler(deps: IngestHandlerDeps): JobHandler<IngestDocumentPayload> {
  return async (delivered, context) => {
    const log = deps.logger.child({ trace_id: delivered.traceId, document_id: delivered.documentId, job_id: context.jobId, attempt: context.attempt });
    const claim = await claimDocument(deps.db, delivered.documentId, delivered.version, {
      staleAfterMs: deps.limits.staleAfterMs,
      deadAfterMs: deps.limits.deadAfterMs,
      maxAttempts: deps.limits.attempts,
    });
    if (claim.kind === 'gone') {
      log.info('job skipped: document finished, deleted or superseded');
      return;
    }
    if (claim.kind === 'held') {
      // A no-op, not a failure: the live attempt finishes or retries on its own, and if it dies its
      // sign of life (alive_at) goes stale within the dead-after time and a later delivery or the
      // reconciler takes the document over. A retry from here would burn attempts of the job the
      // holder may itself be running.
      log.info('job skipped: another attempt holds the document, alive and making progress');
      return;
    }
    const claimed = claim.document;
    if (claimed.takenOver) log.warn('took over an abandoned attempt', { version: claimed.version });
    // Everything from here writes under the version this attempt owns.
    const payload = { ...delivered, version: claimed.version };
    const hold = attemptHold(payload);
    const alive = keepAttemptAlive(
      deps.db,
      payload.documentId,
      payload.version,
      deps.limits.aliveIntervalMs,
      (error) => log.warn('could not record that the attempt is alive', { err: String((error as Error)?.message ?? error) }),
      hold.lose,
    );
    let stage: DocumentStage = 'parsing';
    try {
      const outcome = await runStages(deps, payload, claimed, hold, (s) => {
        stage = s;
      });
      log.info(outcome === 'indexed' ? 'document ready' : 'job superseded before indexing');
    } catch (error) {
      if (hold.signal.aborted) {
        // Whatever was thrown (the lost hold itself, or the cancelled call): nothing to record, no retry.
        log.info('job stopped: document deleted, superseded or taken over by another attempt', { stage, err: String((error as Error)?.message ?? error) });
        return;
      }
      const failure = classifyFailure(error, stage);
      const last = !failure.retryable || context.attempt >= context.maxAttempts;
      log.warn('ingestion attempt failed', { stage: failure.stage, code: failure.code, reason: failure.reason, final: last });
      if (last) {
        await markFailed(deps.db, payload.documentId, payload.version, {
          code: failure.code,
          stage: failure.stage,
          message: failureMessage(failure, context.attempt),
          limit: failure.limit,
        });
        throw new UnrecoverableError(failure.reason);
      }
      await markRetrying(deps.db, payload.documentId, payload.version);
      // After a takeover the runner's retry still carries the old version and stops at the claim;
      // the reconciler re-enqueues the document under its new version on its next sweep.
      throw error;
    } finally {
      await alive.stop();
    }
  };
}

/** This attempt's hold on its document version: `lose` aborts `signal` with an AttemptLostError. */
interface AttemptHold {
  readonly signal: AbortSignal;
  lose(): void;
}

function attemptHold(payload: IngestDocumentPayload): AttemptHold {
  const controller = new AbortController();
  return {
    signal: controller.signal,
    lose() {
      if (controller.signal.aborted) return;
      controller.abort(new AttemptLostError(`Document ${payload.documentId} is no longer this attempt's (version ${payload.version}): deleted, superseded or taken over.`));
    },
  };
}

/** The cache key `embedChunks` reports, with each chunk's embedding-input hash, so indexing copies the vectors from the cache. */
function cachedAs(cached: { model: string; requestedDimensions: number; teamId: string } | undefined, hashes: string[]): Pick<VersionVectors, 'cached'> {
  return cached ? { cached: { ...cached, hashes } } : {};
}

async function runStages(
  deps: IngestHandlerDeps,
  payload: IngestDocumentPayload,
  claimed: ClaimedDocument,
  hold: AttemptHold,
  enter: (stage: DocumentStage) => void,
): Promise<'indexed' | 'superseded'> {
  const { db } = deps;
  const { documentId, version } = payload;
  /** Writes progress; a write that finds the document no longer this attempt's stops the attempt here. */
  const progress = async (p: ProgressUpdate) => {
    if (!(await updateProgress(db, documentId, version, p))) hold.lose();
    hold.signal.throwIfAborted();
  };
  const target = await loadIndexTarget(db, claimed.collectionId);
  if (!target) return 'superseded';

  // Parsing and chunking run together in a parse worker, each under its own deadline; only the
  // chunks (with offsets, pages, heading paths and hashes) come back, not the extracted text.
  enter('parsing');
  let lastPageWrite = 0;
  // Progress writes of this job go one after another: on a server, writes in flight on different pool
  // connections can commit out of order, and a late "page 1 of 3" would undo "3 of 3".
  let pageWrites: Promise<unknown> = Promise.resolve();
  let chunkingRecorded: Promise<void> = Promise.resolve();
  const onParsed = (summary: ParseSummary) => {
    if (!summary.hasText) return;
    enter('chunking');
    chunkingRecorded = pageWrites.then(() => updateProgress(db, documentId, version, {
      stage: 'chunking',
      pagesParsed: summary.pagesTotal,
      pagesTotal: summary.pagesTotal,
      warnings: summary.warnings,
      scannedPages: summary.scannedPages,
    })).then((owned) => {
      if (!owned) hold.lose();
    });
    // Awaited below; handled now so that a failed write is not an unhandled rejection meanwhile.
    chunkingRecorded.catch(() => undefined);
  };
  let parsed: ChunkedDocument;
  try {
    parsed = await deps.parsePool.parseAndChunk(claimed.bytes, claimed.mime, target.chunking, {
      // Workers are shared fairly by team: the submitter's, whose key sent the file (also into
      // another team's collection through a write grant), so its backlog queues behind its own turns.
      tenant: payload.identity.team_id,
      maxChunks: deps.limits.maxChunks,
      onPage: (page, total) => {
        // Page progress doubles as the heartbeat; written at most every 500 ms.
        if (Date.now() - lastPageWrite < 500) return;
        lastPageWrite = Date.now();
        pageWrites = pageWrites.then(() => updateProgress(db, documentId, version, { pagesParsed: page, pagesTotal: total })).then((owned) => owned || hold.lose(), () => undefined);
      },
      onParsed,
    });
  } catch (error) {
    // The 'chunking' write lands before the failure is recorded, never after it.
    await chunkingRecorded.catch(() => undefined);
    throw error;
  }
  await chunkingRecorded;
  // The parse itself cannot be cancelled; a document lost meanwhile stops before any embedding.
  hold.signal.throwIfAborted();
  if (!parsed.hasText) {
    // Its pages are recorded as a success's are, so `progress.scanned_pages` lists the pages the
    // message counts (after any page write still on its way, as the 'chunking' write waits too).
    await pageWrites;
    await progress({ pagesParsed: parsed.pagesTotal, pagesTotal: parsed.pagesTotal, warnings: parsed.warnings, scannedPages: parsed.scannedPages });
    throw new NoTextError(
      parsed.scannedPages.length > 0
        ? `No page of the PDF has a text layer (${parsed.scannedPages.length} scanned page(s)); OCR is not supported yet.`
        : 'The document has no text.',
    );
  }
  const chunks = parsed.chunks;
  const inputs = chunks.map(embeddingInput);
  const embedding = target.embeddingModel;
  // Text uploads were estimated (and refused if over budget) when they arrived; other formats are
  // only known after parsing, so they are checked here, before their first embedding call.
  if (embedding && deps.models.checkBudget && !claimed.mime.startsWith('text/')) {
    const tokens = Math.ceil(inputs.reduce((n, input) => n + input.length, 0) / 4);
    await deps.models.checkBudget(
      { identityToken: signIdentity(payload.identity, deps.internalSecret), traceId: payload.traceId, purpose: 'ingest-embed', collectionId: payload.collectionId, documentId },
      { model: embedding, tokens },
    );
  }
  await progress({ stage: embedding ? 'embedding' : 'indexing', chunksTotal: chunks.length, chunksEmbedded: 0, chunksCached: 0, embedStarted: true });

  const embedFor = (model: string, expected: number | null, requested: number | null, onBatch: (embedded: number, cached: number) => Promise<void>) =>
    embedChunks({
      models: deps.models,
      modelName: model,
      texts: inputs,
      hashes: chunks.map((c) => c.contentSha256),
      // The team these calls are billed to: a hit then only reuses what this team paid for. The
      // document's uses of the texts say, until its chunks do, which vectors its delete takes.
      cache: { db, teamId: payload.identity.team_id, documentId },
      limiter: deps.limiter,
      context: () => ({
        identityToken: signIdentity(payload.identity, deps.internalSecret),
        traceId: payload.traceId,
        purpose: 'ingest-embed',
        collectionId: payload.collectionId,
        documentId,
      }),
      expectedDimensions: expected,
      ...(requested ? { requestDimensions: requested } : {}),
      batchCap: deps.limits.embedBatchCap,
      batchMaxTokens: deps.limits.embedBatchMaxTokens,
      callTimeoutMs: deps.limits.embedCallTimeoutMs,
      onBatch,
      signal: hold.signal,
    });

  let vectors: VersionVectors | undefined;
  const buildingVectors: VersionVectors[] = [];
  if (embedding && chunks.length > 0) {
    enter('embedding');
    // One write per batch: progress doubles as the heartbeat, and the write is also how the attempt
    // learns before its next provider call that the document was deleted, replaced or taken over.
    const result = await embedFor(embedding, target.dimensions ?? target.requestedDimensions, target.requestedDimensions, (embedded, cached) =>
      progress({ chunksEmbedded: embedded, chunksCached: cached }),
    );
    vectors = { indexVersionId: target.indexVersionId, dimensions: result.dimensions, values: result.vectors, ...cachedAs(result.cached, chunks.map((c) => c.contentSha256)) };
  }
  // New uploads during an embedding-model swap are indexed into the version being built as well.
  // For a version still building that is a courtesy, not part of this upload: if its model fails,
  // the document still goes live on the current version, and the builder's next round embeds it (a
  // round picks chunks with no vector in the version). A built version has no rounds left, so there
  // the failure still fails the attempt, to be retried.
  if (chunks.length > 0) {
    for (const building of await loadBuildingVersions(db, claimed.collectionId, target.chunking)) {
      if (!building.embeddingModel) continue;
      try {
        const result = await embedFor(building.embeddingModel, building.dimensions ?? building.requestedDimensions, building.requestedDimensions, () => progress({}));
        buildingVectors.push({ indexVersionId: building.id, dimensions: result.dimensions, values: result.vectors, ...cachedAs(result.cached, chunks.map((c) => c.contentSha256)) });
      } catch (error) {
        if (building.status !== 'building' || hold.signal.aborted) throw error;
        deps.logger.warn('embedding for an index version being built failed; its builder will catch this document up', {
          document_id: documentId,
          index_version_id: building.id,
          err: String((error as Error)?.message ?? error),
        });
      }
    }
  }
  await progress({ stage: 'indexing' });

  enter('indexing');
  const outcome = await indexChunks(db, {
    documentId,
    collectionId: claimed.collectionId,
    version,
    chunks,
    ...(vectors ? { vectors } : {}),
    buildingVectors,
    expectedIndexVersionId: target.indexVersionId,
    graph: { maxPending: deps.limits.hnswMaxPending },
  });
  if (outcome === 'indexed') {
    for (const v of [...(vectors ? [vectors] : []), ...buildingVectors]) deps.graphs?.notify(v.indexVersionId, v.values.length);
  }
  return outcome;
}
