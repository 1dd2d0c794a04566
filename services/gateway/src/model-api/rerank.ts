import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { parseWith, writeJson } from '@quire/server-kit';
import { attributionOf } from '../caller-identity.js';
import { assertNoForbiddenFields } from '../forbidden-fields.js';
import { clientSignal } from './client-signal.js';
import type { Attribution } from '../ledger.js';
import type { ModelService } from '../model-service.js';
import { RerankBodySchema } from './validators.js';

export function rerankHandler(models: ModelService) {
  return (req: Request, res: Response) => rerank(models, req.body, attributionOf(req, res), res);
}

/**
 * `POST /v1/rerank` in the Cohere/Jina shape, served by any rerank-capable model or route. Documents
 * come back only when asked (`return_documents: true`), as `{text}` like both APIs do.
 */
export async function rerank(models: ModelService, raw: unknown, attribution: Attribution, res: ServerResponse): Promise<void> {
  assertNoForbiddenFields(raw);
  const body = parseWith(RerankBodySchema, raw);
  const texts = body.documents.map((d) => (typeof d === 'string' ? d : d.text));
  const topN = body.top_n === undefined ? undefined : Math.min(body.top_n, texts.length);
  const result = await models.rerank(body.model, body.query, texts, topN, attribution, clientSignal(res));
  const ranked = [...result.results].sort((a, b) => b.relevanceScore - a.relevanceScore).slice(0, topN ?? texts.length);
  const usage: { search_units?: number; total_tokens?: number } = {};
  if (result.usage.searchUnits > 0) usage.search_units = result.usage.searchUnits;
  if (result.usage.inputTokens > 0) usage.total_tokens = result.usage.inputTokens + result.usage.outputTokens;
  writeJson(res, 200, {
    id: `rerank-${randomUUID()}`,
    results: ranked.map((r) => ({
      index: r.index,
      relevance_score: r.relevanceScore,
      ...(body.return_documents ? { document: { text: texts[r.index] ?? '' } } : {}),
    })),
    model: body.model,
    usage,
  });
}
