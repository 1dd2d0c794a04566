import { UnrecoverableError } from 'bullmq';
import type { DocumentStage } from '@quire/contracts';
import type { Db } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import { signIdentity, type Logger } from '@quire/server-kit';
import { chunkText } from '../chunk/chunk-text.js';
import { embedChunks } from '../embed/embed-chunks.js';
import { indexChunks } from '../index/index-chunks.js';
import type { IngestionLimits } from '../limits.js';
import { parseDocument } from '../parse/parse-document.js';
import { loadIndexTarget } from '../repo/collections-repo.js';
import { claimDocument, markFailed, markRetrying, updateProgress } from '../repo/documents-repo.js';
import { classifyFailure, failureMessage, NoTextError } from './classify-failure.js';
import type { IngestDocumentPayload } from './ingest-document-job.js';
import type { JobContext, JobHandler } from './job-queue.js';

export interface IngestHandlerDeps {
  db: Db;
  models: GatewayModels;
  logger: Logger;
  internalSecret: string;
  limits: IngestionLimits;
}

/**
 * parse -> chunk -> embed -> index for one document version. The handler records the final state
 * itself (it knows whether this was the last attempt), then tells the runner whether to retry.
 */
export function createIngestDocumentHandler(deps: IngestHandlerDeps): JobHandler<IngestDocumentPayload> {
  return async (payload, context) => {
    const log = deps.logger.child({ trace_id: payload.traceId, document_id: payload.documentId, job_id: context.jobId, attempt: context.attempt });
    const claimed = await claimDocument(deps.db, payload.documentId, payload.version);
    if (!claimed) {
      log.info('job skipped: document finished, deleted or superseded');
      return;
    }
    let stage: DocumentStage = 'parsing';
    try {
      const outcome = await runStages(deps, payload, claimed, (s) => {
        stage = s;
      });
      log.info(outcome === 'indexed' ? 'document ready' : 'job superseded before indexing');
    } catch (error) {
      const failure = classifyFailure(error, stage);
      const last = !failure.retryable || context.attempt >= context.maxAttempts;
      log.warn('ingestion attempt failed', { stage: failure.stage, code: failure.code, reason: failure.reason, final: last });
      if (last) {
        await markFailed(deps.db, payload.documentId, payload.version, {
          code: failure.code,
          stage: failure.stage,
          message: failureMessage(failure, context.attempt),
        });
        throw new UnrecoverableError(failure.reason);
      }
      await markRetrying(deps.db, payload.documentId, payload.version);
      throw error;
    }
  };
}

async function runStages(
  deps: IngestHandlerDeps,
  payload: IngestDocumentPayload,
  claimed: { collectionId: string; mime: string; bytes: Uint8Array },
  enter: (stage: DocumentStage) => void,
): Promise<'indexed' | 'superseded'> {
  const { db } = deps;
  const { documentId, version } = payload;
  const target = await loadIndexTarget(db, claimed.collectionId);
  if (!target) return 'superseded';

  enter('parsing');
  const parsed = await parseDocument(claimed.bytes, claimed.mime);
  if (parsed.text.trim().length === 0) {
    throw new NoTextError(
      parsed.pagesTotal ? 'The PDF has no extractable text (a scanned PDF needs OCR, which is not supported yet).' : 'The document has no text.',
    );
  }
  await updateProgress(db, documentId, version, { stage: 'chunking', pagesParsed: parsed.pagesTotal, pagesTotal: parsed.pagesTotal });

  enter('chunking');
  const chunks = await chunkText(parsed, target.chunking);
  const embedding = target.embeddingModel;
  await updateProgress(db, documentId, version, { stage: embedding ? 'embedding' : 'indexing', chunksTotal: chunks.length, chunksEmbedded: 0 });

  let vectors: { indexVersionId: string; dimensions: number; values: number[][] } | undefined;
  if (embedding && chunks.length > 0) {
    enter('embedding');
    const result = await embedChunks({
      models: deps.models,
      modelName: embedding,
      texts: chunks.map((c) => c.text),
      context: () => ({
        identityToken: signIdentity(payload.identity, deps.internalSecret),
        traceId: payload.traceId,
        purpose: 'ingest-embed',
        collectionId: payload.collectionId,
        documentId,
      }),
      expectedDimensions: target.dimensions ?? target.requestedDimensions,
      ...(target.requestedDimensions ? { requestDimensions: target.requestedDimensions } : {}),
      batchCap: deps.limits.embedBatchCap,
      onBatch: (embedded) => updateProgress(db, documentId, version, { chunksEmbedded: embedded }),
    });
    vectors = { indexVersionId: target.indexVersionId, dimensions: result.dimensions, values: result.vectors };
    await updateProgress(db, documentId, version, { stage: 'indexing' });
  }

  enter('indexing');
  return indexChunks(db, { documentId, collectionId: claimed.collectionId, version, chunks, ...(vectors ? { vectors } : {}) });
}
