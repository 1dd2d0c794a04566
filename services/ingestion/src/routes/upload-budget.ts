import type { GatewayModels } from '@quire/gateway-client';
import type { Queryable } from '@quire/db';
import type { RequestContext } from '@quire/server-kit';
import { loadIndexTarget } from '../repo/collections-repo.js';
import type { UploadItem } from '../upload/read-upload.js';

/**
 * Embedding tokens an upload will cost, known before parsing only for text formats (4 characters a
 * token, as the gateway estimates; UTF-8 bytes bound the characters). PDF and DOCX sizes say little
 * about their text, so they count 0 here: their embedding calls are still refused one by one by the
 * gateway's reservations once the budget is spent.
 */
export function estimateEmbeddingTokens(items: BudgetItem[]): number {
  return items.reduce((sum, item) => sum + (item.mime.startsWith('text/') ? Math.ceil(item.byteSize / 4) : 0), 0);
}

/** What the estimate needs of a file: an upload's bytes, or a stored document's `byte_size` on retry. */
export interface BudgetItem {
  mime: string;
  byteSize: number;
}

export const budgetItemsOf = (items: Pick<UploadItem, 'bytes' | 'mime'>[]): BudgetItem[] => items.map((i) => ({ mime: i.mime, byteSize: i.bytes.length }));

/**
 * Refuses an upload (402 `budget_exceeded`, before anything is stored or embedded) whose estimated
 * embedding cost does not fit what is left of the uploader's team or key budgets. Asks the gateway,
 * which owns budgets; a collection without an embedding model (keyword-only) costs nothing.
 */
export async function checkUploadBudget(models: GatewayModels, db: Queryable, context: RequestContext, collectionId: string, items: BudgetItem[]): Promise<void> {
  if (!models.checkBudget) return;
  const tokens = estimateEmbeddingTokens(items);
  if (tokens === 0) return;
  const target = await loadIndexTarget(db, collectionId);
  if (!target?.embeddingModel) return;
  await models.checkBudget({ identityToken: context.identityToken, traceId: context.traceId, purpose: 'ingest-embed', collectionId }, { model: target.embeddingModel, tokens });
}
