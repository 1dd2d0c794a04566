import type { Router } from 'express';
import { z } from 'zod';
import { UuidSchema } from '@quire/contracts';
import type { Db } from '@quire/db';
import { AppError, ctx, exactRouter, handle, paramsOf } from '@quire/server-kit';
import { deleteConversation } from '../answer/conversation.js';

const IdParams = z.object({ id: UuidSchema });
const conversationNotFound = (id: string) => new AppError('not_found', `No conversation ${id}.`, { param: 'id' });

/**
 * `DELETE /v1/conversations/:id`: a conversation's stored turns (questions and answers) go, for the
 * key that started it, a knowledge admin of its team or an organisation admin; anyone else gets the
 * 404 that continuing it gives them (`not_found`, as `loadHistory` answers). Its queries stay, each
 * deletable with `DELETE /v1/queries/:id`.
 */
export function conversationRoutes(db: Db): Router {
  const router = exactRouter();
  router.delete(
    '/v1/conversations/:id',
    handle(async (req, res) => {
      const { id } = paramsOf(req, IdParams, { id: conversationNotFound });
      if (!(await deleteConversation(db, ctx(res).identity, id))) throw conversationNotFound(id);
      res.json({ id, object: 'conversation', deleted: true });
    }),
  );
  return router;
}
