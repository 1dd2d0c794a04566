import type { FusionPreset, FusionSettings, SearchSettings } from '@quire/contracts';
import { DEFAULT_BM25, type Bm25Params } from '@quire/keyword-index';
import { RRF_K } from './rrf.js';

export interface ResolvedFusion {
  k: number;
  weights: { vector: number; keyword: number };
}

/**
 * Presets hide the knobs. Weighted RRF: score = Σ w_leg / (k + rank). keyword-heavy suits codes,
 * names and exact terms; semantic-heavy suits paraphrased questions.
 */
export const FUSION_PRESETS: Record<FusionPreset, ResolvedFusion> = {
  balanced: { k: RRF_K, weights: { vector: 1, keyword: 1 } },
  'keyword-heavy': { k: RRF_K, weights: { vector: 0.5, keyword: 1.5 } },
  'semantic-heavy': { k: RRF_K, weights: { vector: 1.5, keyword: 0.5 } },
};

/** Request over collection over preset: a preset picks a base, explicit k/weights then override it. */
export function resolveFusion(collection: SearchSettings, request: { preset?: FusionPreset; fusion?: FusionSettings }): ResolvedFusion {
  const preset = FUSION_PRESETS[request.preset ?? collection.preset ?? 'balanced'];
  // A request preset replaces the collection's explicit knobs; a request without one inherits them.
  const layers = request.preset ? [request.fusion] : [collection.fusion, request.fusion];
  const out: ResolvedFusion = { k: preset.k, weights: { ...preset.weights } };
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.k !== undefined) out.k = layer.k;
    if (layer.weights?.vector !== undefined) out.weights.vector = layer.weights.vector;
    if (layer.weights?.keyword !== undefined) out.weights.keyword = layer.weights.keyword;
  }
  return out;
}

export function resolveBm25(settings: SearchSettings): Bm25Params {
  return settings.bm25 ?? DEFAULT_BM25;
}
