import { z } from 'zod';

/** Ids we have checked; any other ONNX export of a BERT-style encoder works too. */
export type LocalEmbeddingModelId =
  | 'Xenova/bge-small-en-v1.5'
  | 'Xenova/bge-base-en-v1.5'
  | 'Xenova/all-MiniLM-L6-v2'
  | 'Xenova/multilingual-e5-small'
  | (string & {});

export type LocalRerankingModelId = 'Xenova/ms-marco-MiniLM-L-6-v2' | 'Xenova/bge-reranker-base' | (string & {});

export const BGE_QUERY_INSTRUCTION = 'Represent this sentence for searching relevant passages: ';

/** Default texts per embedding call; embedMany splits larger inputs. Bounds padding waste and memory. */
export const LOCAL_MAX_EMBEDDINGS_PER_CALL = 32;

export const localEmbeddingModelOptionsSchema = z.object({
  /** How token vectors become one vector: `cls` (bge) or attention-masked `mean` (MiniLM, e5). */
  pooling: z.enum(['mean', 'cls']).optional(),
  /** Prepended to values embedded with `inputType: 'query'`; `''` turns a default instruction off. */
  queryPrefix: z.string().optional(),
  /** Prepended to every other value (e5's `passage: `). */
  documentPrefix: z.string().optional(),
  maxEmbeddingsPerCall: z.number().int().positive().optional(),
});

export type LocalEmbeddingModelOptions = z.input<typeof localEmbeddingModelOptionsSchema>;
export type ResolvedEmbeddingModelOptions = Required<LocalEmbeddingModelOptions>;

/**
 * Defaults follow each family's model card: English bge v1.5 uses CLS pooling and an instruction
 * on queries only, e5 prefixes both sides, sentence-transformers models mean-pool with no prefix.
 */
export function resolveEmbeddingModelOptions(modelId: string, options: LocalEmbeddingModelOptions = {}): ResolvedEmbeddingModelOptions {
  const parsed = localEmbeddingModelOptionsSchema.parse(options);
  const name = modelId.toLowerCase();
  const bge = name.includes('bge');
  const bgeEnglish = bge && /bge-(small|base|large)-en/.test(name);
  const e5 = /(^|[/-])e5-/.test(name);
  return {
    pooling: parsed.pooling ?? (bge ? 'cls' : 'mean'),
    queryPrefix: parsed.queryPrefix ?? (bgeEnglish ? BGE_QUERY_INSTRUCTION : e5 ? 'query: ' : ''),
    documentPrefix: parsed.documentPrefix ?? (e5 ? 'passage: ' : ''),
    maxEmbeddingsPerCall: parsed.maxEmbeddingsPerCall ?? LOCAL_MAX_EMBEDDINGS_PER_CALL,
  };
}
