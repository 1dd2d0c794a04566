import type { Response, Router } from 'express';
import { CreateCollectionBodySchema, ListCollectionsQuerySchema, REINDEX_ONLY_COLLECTION_FIELDS, UpdateCollectionBodySchema, type Collection, type CollectionWriteResponse } from '@quire/contracts';
import type { Db } from '@quire/db';
import { modelNameWarnings, type GatewayModels, type NamedModel } from '@quire/gateway-client';
import type { CollectionActor } from '@quire/index-versions';
import { AppError, ctx, handle, paramsOf, parseStrict, parseWith, exactRouter } from '@quire/server-kit';
import { createCollection, deleteCollection, listCollections, requireCollection, updateCollection } from '../repo/collections-repo.js';
import { actingViewer } from './acting-viewer.js';
import { collectionNotFound, IdParams } from './path-params.js';

/** The models a create or PATCH body names, by field; a null (cleared) model names none. */
function namedModels(body: Partial<Record<'embedding_model' | 'generation_model' | 'rerank_model', string | null | undefined>>): NamedModel[] {
  const fields = ['embedding_model', 'generation_model', 'rerank_model'] as const;
  return fields.flatMap((param) => (body[param] ? [{ param, model: body[param] }] : []));
}

/** Checked side by side with the write: the list is one call to the gateway, and the write does not wait for it. */
async function withWarnings(write: Promise<Collection>, models: GatewayModels, res: Response, named: NamedModel[]): Promise<CollectionWriteResponse> {
  const [collection, warnings] = await Promise.all([write, modelNameWarnings(models, ctx(res), named)]);
  return { ...collection, warnings };
}

/** A PATCH naming a setting the index was built with: it needs a new index version, not an update. */
function refuseReindexOnly(id: string, body: unknown): void {
  if (!body || typeof body !== 'object') return;
  const named = REINDEX_ONLY_COLLECTION_FIELDS.filter((field) => Object.hasOwn(body, field));
  if (named.length === 0) return;
  throw new AppError(
    'reindex_required',
    `${named.join(', ')} cannot be changed with PATCH: the collection's vectors and chunks were made with ${named.length === 1 ? 'it' : 'them'}. Build a new index version with POST /v1/collections/${id}/index-versions (it re-embeds, or re-chunks, the stored documents), then switch to it with POST /v1/collections/${id}/index-versions/{version_id}/promote.`,
    { param: named[0]! },
  );
}

/** Who the audit row of a change names: the caller's signed identity (an organisation admin as itself, not as the owning team). */
function actor(res: Response): CollectionActor {
  const { identity, traceId } = ctx(res);
  return { team_id: identity.team_id, key_id: identity.key_id, requestId: traceId };
}

export function collectionsRoutes(db: Db, models: GatewayModels): Router {
  const router = exactRouter();

  router.post(
    '/v1/collections',
    handle(async (req, res) => {
      const body = parseWith(CreateCollectionBodySchema, req.body);
      res.status(201).json(await withWarnings(createCollection(db, ctx(res).identity.team_id, body, actor(res)), models, res, namedModels(body)));
    }),
  );

  // A page at a time (`limit`, `cursor`, `name`: ListCollectionsQuerySchema); an unknown parameter or a bad value is a 400 naming it.
  router.get(
    '/v1/collections',
    handle(async (req, res) => {
      const query = parseStrict(ListCollectionsQuerySchema, req.query, 'query');
      res.json({ object: 'list', ...(await listCollections(db, ctx(res).identity, query)) });
    }),
  );

  router.get(
    '/v1/collections/:id',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: collectionNotFound });
      res.json(await requireCollection(db, await actingViewer(db, ctx(res).identity, { collectionId: id }), id, 'read'));
    }),
  );

  // Settings stay with the owning team, as for a delete: a granted team (even with `write`) meets
  // the collection as missing here. Roles are the gateway's (knowledge-admins and admins change collections).
  router.patch(
    '/v1/collections/:id',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: collectionNotFound });
      refuseReindexOnly(id, req.body);
      const body = parseWith(UpdateCollectionBodySchema, req.body);
      const viewer = await actingViewer(db, ctx(res).identity, { collectionId: id });
      const update = updateCollection(db, viewer.team_id, id, body, actor(res)).then((collection) => {
        if (!collection) throw collectionNotFound(id);
        return collection;
      });
      res.json(await withWarnings(update, models, res, namedModels(body)));
    }),
  );

  router.delete(
    '/v1/collections/:id',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: collectionNotFound });
      const viewer = await actingViewer(db, ctx(res).identity, { collectionId: id });
      if (!(await deleteCollection(db, viewer.team_id, id, actor(res)))) throw collectionNotFound(id);
      res.json({ id, object: 'collection', deleted: true });
    }),
  );

  return router;
}
