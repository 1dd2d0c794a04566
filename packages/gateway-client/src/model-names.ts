import type { ModelNameWarning } from '@quire/contracts';
import type { GatewayCallContext, GatewayModels, ModelList } from './gateway-models.js';

/** A model a request names, and where: a body path (`generation_model`, `configurations.1.rerank_model`). */
export interface NamedModel {
  param: string;
  model: string;
}

/**
 * A named model that the gateway's `GET /v1/models` does not list. That list holds routes, the
 * catalog's models of configured providers and `QUIRE_MODELS`, so it vouches for a name but does not
 * rule one out. `provider`: no model of its provider is listed either (a provider that is not
 * configured, a misspelled one, a route that does not exist), so calls to it fail. `model`: its
 * provider is listed, and a provider takes models newer than the catalog, so it may be served or may
 * be a typo; `suggestion` is the listed model of that provider it is closest to, when one is close.
 */
export interface UnlistedModel extends NamedModel {
  unlisted: 'provider' | 'model';
  suggestion?: string;
}

export const providerOf = (model: string): string => model.slice(0, Math.max(0, model.indexOf('/')));

/** Typos are a letter or two; a listed name further away than this is another model, not a suggestion. */
const MAX_SUGGESTION_EDITS = 3;

/** Levenshtein distance, stopping at `limit + 1`: only close names matter here. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    if (Math.min(...current) > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length]!;
}

function closest(model: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(model.toLowerCase(), name.toLowerCase(), MAX_SUGGESTION_EDITS);
    if (distance <= MAX_SUGGESTION_EDITS && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** The named models that `list` (the gateway's model and route names, and its providers) does not hold, and why. */
export function unlistedModels(list: ModelList, named: readonly NamedModel[]): UnlistedModel[] {
  const served = new Set(list.models);
  const byProvider = new Map<string, string[]>(list.providers.map((p) => [p, []]));
  for (const id of list.models) {
    const provider = providerOf(id);
    if (provider === '') continue;
    const ids = byProvider.get(provider);
    if (ids) ids.push(id);
    else byProvider.set(provider, [id]);
  }
  return named
    .filter((n) => !served.has(n.model))
    .map((n) => {
      const siblings = byProvider.get(providerOf(n.model));
      if (!siblings) return { ...n, unlisted: 'provider' as const };
      const suggestion = closest(n.model, siblings);
      return { ...n, unlisted: 'model' as const, ...(suggestion ? { suggestion } : {}) };
    });
}

/**
 * Asks the gateway for its list and checks the named models against it. Null when the models have
 * no list (local test models), which vouches for nothing and rules out nothing. A gateway that cannot
 * be reached throws (`service_unavailable`): the caller decides whether that refuses its request.
 */
export async function findUnlistedModels(
  models: GatewayModels,
  context: Pick<GatewayCallContext, 'identityToken' | 'traceId'>,
  named: readonly NamedModel[],
): Promise<UnlistedModel[] | null> {
  if (!models.listModels) return null;
  if (named.length === 0) return [];
  return unlistedModels(await models.listModels(context), named);
}

function toWarning(u: UnlistedModel): ModelNameWarning {
  const base = { param: u.param, model: u.model };
  if (u.unlisted === 'provider') {
    return { code: 'provider_not_listed', ...base, message: `${u.param} "${u.model}": the gateway lists no model of this provider (GET /v1/models), so calls to it will likely fail. An operator configures the provider, or names the model in QUIRE_MODELS or a route.` };
  }
  const hint = u.suggestion ? ` Did you mean "${u.suggestion}"?` : " Check the spelling; it may also be a model newer than the gateway's list.";
  return { code: 'model_not_listed', ...base, ...(u.suggestion ? { suggestion: u.suggestion } : {}), message: `${u.param} "${u.model}" is not in the gateway's model list (GET /v1/models).${hint}` };
}

/**
 * The named models as warnings, never refusals: a deployment may serve models its list does not
 * name, so a setting is stored as given and the caller learns now what looks wrong, not at the first
 * call. A list that cannot be read is a warning too: it must not keep anyone from saving settings.
 */
export async function modelNameWarnings(
  models: GatewayModels,
  context: Pick<GatewayCallContext, 'identityToken' | 'traceId'>,
  named: readonly NamedModel[],
): Promise<ModelNameWarning[]> {
  try {
    return ((await findUnlistedModels(models, context, named)) ?? []).map(toWarning);
  } catch {
    return [{ code: 'model_list_unavailable', message: "The gateway's model list could not be read, so the model names were not checked." }];
  }
}
