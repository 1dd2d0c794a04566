import { findUnlistedModels, type GatewayCallContext, type GatewayModels, type NamedModel } from '@quire/gateway-client';
import { AppError } from '@quire/server-kit';
import type { Configuration } from './eval-schemas.js';

export type { NamedModel } from '@quire/gateway-client';

/**
 * The models a benchmark request names itself: each configuration's rerank and generation model,
 * the embedding model of the index version it names (unless keyword search, which embeds nothing),
 * and the judge. The collection's own models are not re-checked: its queries use them already.
 */
export function namedModels(body: { configurations: Configuration[]; judge_model?: string | undefined }, embeddingOf: (index: number) => string | null): NamedModel[] {
  const named: NamedModel[] = [];
  body.configurations.forEach((c, i) => {
    if (c.rerank_model) named.push({ param: `configurations.${i}.rerank_model`, model: c.rerank_model });
    if (c.generation_model) named.push({ param: `configurations.${i}.generation_model`, model: c.generation_model });
    const embedding = c.index_version_id && c.mode !== 'keyword' ? embeddingOf(i) : null;
    if (embedding) named.push({ param: `configurations.${i}.index_version_id`, model: embedding });
  });
  if (body.judge_model) named.push({ param: 'judge_model', model: body.judge_model });
  return named;
}

/**
 * The named models the gateway does not serve. Its `GET /v1/models` lists routes, the catalog's
 * models of configured providers and `QUIRE_MODELS`; a model it does not list is still accepted when
 * its provider serves a listed one, since a provider takes models newer than the catalog (a typo
 * there fails the run's cases with the provider's own "model not found", shown per configuration).
 * A run naming an unknown provider or route would otherwise be queued and fail on every case.
 * Models without a list (local test models) check nothing.
 */
export async function unknownModels(models: GatewayModels, context: Pick<GatewayCallContext, 'identityToken' | 'traceId'>, named: readonly NamedModel[]): Promise<NamedModel[]> {
  const unlisted = await findUnlistedModels(models, context, named);
  return (unlisted ?? []).filter((u) => u.unlisted === 'provider').map(({ param, model }) => ({ param, model }));
}

/** 400 `unknown_model`, `param` at the first unknown one; the message names each, and `unknown_models` (beside `error`) lists them. */
export function unknownModelError(unknown: readonly NamedModel[]): AppError {
  const list = unknown.map((u) => `${u.param}: "${u.model}"`).join(', ');
  return new AppError('unknown_model', `The gateway does not serve ${unknown.length === 1 ? 'this model' : 'these models'}: ${list}. GET /v1/models lists what it serves (any model of a provider listed there is accepted); an operator adds a provider's models with QUIRE_MODELS or a route.`, { param: unknown[0]!.param, exposed: { unknown_models: unknown } });
}
