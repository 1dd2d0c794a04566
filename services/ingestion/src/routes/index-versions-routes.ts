import type { Router } from 'express';
import { z } from 'zod';
import { ChunkingSchema, ModelNameSchema, type Identity } from '@quire/contracts';
import type { Db } from '@quire/db';
import { createPriceBook, type PriceBook } from '@quire/models';
import { AppError, ctx, handle, paramsOf, parseWith, exactRouter } from '@quire/server-kit';
import { requireCollection } from '../repo/collections-repo.js';
import { actingViewer } from './acting-viewer.js';
import { collectionNotFound, IdParams, indexVersionNotFound, VersionParams } from './path-params.js';
import type { IndexVersionBuilder } from '../versions/index-version-builder.js';
import { activateVersion, collectionChunkStats, createBuildingVersion, deleteVersion, getVersion, listVersions } from '../versions/index-versions-repo.js';

const CreateVersionBodySchema = z
  .object({
    embedding_model: ModelNameSchema,
    dimensions: z.number().int().min(1).max(16000).optional(),
    chunking: ChunkingSchema.optional(),
    dry_run: z.boolean().default(false),
    activate: z.enum(['on_ready', 'manual']).default('manual'),
  })
  .strict();

/**
 * Queries switch to a new index version through the promotion gate (issue 7): a benchmark must show
 * it is not worse than the current one. Switching without it (directly, or as soon as the build
 * completes) is an admin's override, recorded as forced in the audit log.
 */
const GATE_MESSAGE =
  'Only admins may switch index versions without the promotion gate. Build the version with activate: "manual", run a benchmark on the collection\'s eval set with both versions, then POST /v1/collections/{id}/index-versions/{version_id}/promote.';

/** Tokens are estimated as characters / 4 (no tokenizer is right for every provider). */
const CHARS_PER_TOKEN = 4;

export function indexVersionsRoutes(deps: { db: Db; builder: IndexVersionBuilder; priceBook?: PriceBook }): Router {
  const { db } = deps;
  const prices = deps.priceBook ?? createPriceBook();
  const router = exactRouter();

  /** Index versions stay with the owning team (no grants); an organisation admin reaches every team's. */
  const ownedCollection = async (identity: Identity, id: string) => requireCollection(db, (await actingViewer(db, identity, { collectionId: id })).team_id, id);

  router.post(
    '/v1/collections/:id/index-versions',
    handle(async (req, res) => {
      const { identity } = ctx(res);
      const collection = await ownedCollection(identity, paramsOf(req, IdParams, { id: collectionNotFound }).id);
      const body = parseWith(CreateVersionBodySchema, req.body);
      // A dry run only estimates: anyone who may build may ask what a build would cost.
      if (!body.dry_run && body.activate === 'on_ready' && identity.role !== 'admin') throw new AppError('permission_denied', GATE_MESSAGE, { param: 'activate' });
      // Other chunking builds the version's own chunk set from the stored bytes (versions/rechunk-round.ts).
      const chunking = body.chunking ?? collection.chunking;
      const stats = await collectionChunkStats(db, collection.id);
      const estimatedTokens = Math.ceil(stats.chars / CHARS_PER_TOKEN);
      const cost = prices.costOf(body.embedding_model, {
        inputTokens: estimatedTokens, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, reasoningTokens: 0, searchUnits: 0, reported: true,
      });
      const estimate = {
        chunks: stats.chunks,
        characters: stats.chars,
        estimated_tokens: estimatedTokens,
        estimated_cost_usd: cost.costUsd,
        note: `Tokens are estimated as characters / ${CHARS_PER_TOKEN}; the price is the built-in catalog's (gateway price overrides are not applied). Cached embeddings cost nothing.`,
      };
      if (body.dry_run) {
        res.json({ object: 'index_version_estimate', dry_run: true, embedding_model: body.embedding_model, ...estimate });
        return;
      }
      const id = await createBuildingVersion(db, {
        collectionId: collection.id,
        embeddingModel: body.embedding_model,
        dimensions: body.dimensions ?? null,
        chunking,
        activateOnReady: body.activate === 'on_ready',
        // The caller's, also an organisation admin's on another team's collection: the build's model calls are its cost.
        identity,
      });
      void deps.builder.start(collection.id, id);
      const view = await getVersion(db, collection.id, id);
      if (!view) throw indexVersionNotFound(id);
      res.status(202).json({ ...stripInternal(view), estimate });
    }),
  );

  router.get(
    '/v1/collections/:id/index-versions',
    handle(async (req, res) => {
      const collection = await ownedCollection(ctx(res).identity, paramsOf(req, IdParams, { id: collectionNotFound }).id);
      res.json({ object: 'list', data: await listVersions(db, collection.id) });
    }),
  );

  router.post(
    '/v1/collections/:id/index-versions/:vid/activate',
    handle(async (req, res) => {
      const { identity, traceId } = ctx(res);
      const collection = await ownedCollection(identity, paramsOf(req, IdParams, { id: collectionNotFound }).id);
      const { vid } = paramsOf(req, VersionParams, { vid: indexVersionNotFound });
      if (!(await getVersion(db, collection.id, vid))) throw indexVersionNotFound(vid);
      if (identity.role !== 'admin') throw new AppError('permission_denied', GATE_MESSAGE);
      const outcome = await activateVersion(db, collection.id, vid, { actor: identity, requestId: traceId, trigger: 'activate' });
      // Deleted between the check above and the activation: a 404 like any missing version.
      if (outcome === 'missing') throw indexVersionNotFound(vid);
      if (outcome === 'not_ready') throw new AppError('conflict', 'The index version is not built yet; watch its progress and try again.');
      if (outcome === 'incomplete') {
        void deps.builder.start(collection.id, vid);
        throw new AppError('conflict', 'The index version is missing vectors for recently indexed chunks; it is catching up, try again shortly.');
      }
      const view = await getVersion(db, collection.id, vid);
      if (!view) throw indexVersionNotFound(vid);
      res.json(stripInternal(view));
    }),
  );

  router.delete(
    '/v1/collections/:id/index-versions/:vid',
    handle(async (req, res) => {
      const collection = await ownedCollection(ctx(res).identity, paramsOf(req, IdParams, { id: collectionNotFound }).id);
      const { vid } = paramsOf(req, VersionParams, { vid: indexVersionNotFound });
      const outcome = await deleteVersion(db, collection.id, vid);
      if (outcome === 'missing') throw indexVersionNotFound(vid);
      if (outcome === 'current') throw new AppError('conflict', 'The current index version cannot be deleted; activate another one first.');
      res.json({ id: vid, object: 'index_version', deleted: true });
    }),
  );

  return router;
}

function stripInternal<T extends { identity?: unknown; requestedDimensions?: unknown }>(view: T): Omit<T, 'identity' | 'requestedDimensions'> {
  const { identity: _i, requestedDimensions: _r, ...rest } = view;
  return rest;
}
