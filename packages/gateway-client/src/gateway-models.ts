import type { Purpose } from '@quire/contracts';
import type { EmbeddingModelV1, GenerationModelV1, RerankingModelV1 } from '@quire/models';

/** Who a model call is for and why; the gateway writes it into the ledger row. */
export interface GatewayCallContext {
  /** The signed identity token the service received (or signed for a background job). */
  identityToken: string;
  traceId: string;
  purpose: Purpose;
  collectionId?: string;
  queryId?: string;
  documentId?: string;
}

/**
 * A reranker reached through the gateway. It has no `billedIn`: what its usage counts is the target's
 * (the gateway prices each call by its provider adapter's `billedIn`), and a route may reach targets
 * of both kinds, so the proxy cannot say.
 */
export type GatewayRerankingModel = Omit<RerankingModelV1, 'billedIn'>;

/**
 * Models as ingestion and retrieval see them: the same interfaces as `@quire/models`, served by
 * the gateway. Tests substitute a local implementation of this interface.
 */
export interface GatewayModels {
  embeddingModel(name: string, context: GatewayCallContext): EmbeddingModelV1;
  generationModel(name: string, context: GatewayCallContext): GenerationModelV1;
  rerankingModel(name: string, context: GatewayCallContext): GatewayRerankingModel;
  /**
   * Refuses (402 `budget_exceeded`) work whose estimated cost does not fit what is left of the
   * budgets of the identity in `context`; reserves nothing. Optional: local test models have none.
   */
  checkBudget?(context: GatewayCallContext, estimate: { model: string; tokens: number }): Promise<void>;
  /**
   * The model and route names the gateway lists (its `GET /v1/models`) and its configured providers,
   * to check the names a request gives before it is queued. Optional: local test models have none.
   */
  listModels?(context: Pick<GatewayCallContext, 'identityToken' | 'traceId'>): Promise<ModelList>;
}

export interface ModelList {
  /** Listed model and route names: priced models of configured providers, `QUIRE_MODELS`, routes. */
  models: string[];
  /**
   * Configured providers, which serve models the list does not name (a provider from
   * `QUIRE_PROVIDERS_JSON` with no priced model lists nothing).
   */
  providers: string[];
}
