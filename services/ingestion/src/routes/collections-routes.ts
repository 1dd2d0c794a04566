import type { Router } from 'express';
import type { Db } from '@quire/db';
import { AppError, ctx, handle, parseWith, exactRouter } from '@quire/server-kit';
import { CreateCollectionBodyWithChunkingSchema } from '../chunk/chunking-settings.js';
import { createCollection, deleteCollection, listCollections, requireCollection } from '../repo/collections-repo.js';
import { actingViewer } from './acting-viewer.js';

export function collectionsRoutes(db: Db): Router {
  const router = exactRouter();

  router.post(
    '/v1/collections',
    handle(async (req, res) => {
      const body = parseWith(CreateCollectionBodyWithChunkingSchema, req.body);
      res.status(201).json(await createCollection(db, ctx(res).identity.team_id, body));
    }),
  );

  router.get(
    '/v1/collections',
    handle(async (_req, res) => {
      res.json({ object: 'list', data: await listCollections(db, ctx(res).identity) });
    }),
  );

  router.get(
    '/v1/collections/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      res.json(await requireCollection(db, await actingViewer(db, ctx(res).identity, { collectionId: id }), id, 'read'));
    }),
  );

  router.delete(
    '/v1/collections/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      const viewer = await actingViewer(db, ctx(res).identity, { collectionId: id });
      if (!(await deleteCollection(db, viewer.team_id, id))) throw new AppError('collection_not_found', `No collection ${id}.`);
      res.json({ id, object: 'collection', deleted: true });
    }),
  );

  return router;
}
