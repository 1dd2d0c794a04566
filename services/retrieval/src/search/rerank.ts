import type { GatewayCallContext, GatewayModels } from '@quire/gateway-client';
import type { ChunkView } from './hydrate.js';
import { chunkReading } from '@quire/contracts';

/** How many fused candidates go to the reranker unless the request or collection says otherwise. */
export const DEFAULT_RERANK_CANDIDATES = 30;

export interface RerankRequest {
  model: string;
  query: string;
  candidates: ChunkView[];
  call: Omit<GatewayCallContext, 'purpose'>;
  abortSignal?: AbortSignal;
}

/**
 * What the reranker reads of a chunk: its context (a table's header rows, for a chunk of a table's
 * later rows) above its text, as the embedding model read it at ingest; rows alone would score as
 * bare numbers.
 */
export function rerankInput(chunk: Pick<ChunkView, 'text' | 'context'>): string {
  return chunkReading(chunk);
}

/**
 * Reorders candidates by the collection's rerank model (through the gateway's `/v1/rerank`, so the
 * call is metered with purpose `rerank`). Candidates the model leaves out keep their fused order
 * after the ones it scored.
 */
export async function rerankChunks(models: GatewayModels, input: RerankRequest): Promise<{ chunk: ChunkView; score: number | undefined }[]> {
  if (input.candidates.length === 0) return [];
  const model = models.rerankingModel(input.model, { ...input.call, purpose: 'rerank' });
  const result = await model.doRerank({
    query: input.query,
    documents: input.candidates.map(rerankInput),
    ...(input.abortSignal ? { abortSignal: input.abortSignal } : {}),
  });
  const seen = new Set<number>();
  const out: { chunk: ChunkView; score: number | undefined }[] = [];
  for (const r of [...result.results].sort((a, b) => b.relevanceScore - a.relevanceScore)) {
    const chunk = input.candidates[r.index];
    if (!chunk || seen.has(r.index)) continue;
    seen.add(r.index);
    out.push({ chunk, score: r.relevanceScore });
  }
  input.candidates.forEach((chunk, i) => {
    if (!seen.has(i)) out.push({ chunk, score: undefined });
  });
  return out;
}
