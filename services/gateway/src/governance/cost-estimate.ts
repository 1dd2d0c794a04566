import { emptyUsage, type RerankBillingV1 as RerankBilling, type UsageV1 } from '@quire/models';
import type { RouteStore } from '../routing/route-store.js';
import { toNanos } from './budgets.js';

/** Output tokens assumed for a chat call that sets no max_tokens (reserved, then settled to the real count). */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export type CostOf = (name: string, usage: UsageV1) => string | null;

export interface Estimate {
  inputTokens: number;
  outputTokens: number;
  /** The worst case in nano-dollars. */
  nanos: number;
  /** The models the call may reach that the price book cannot price for it (their cost is not in `nanos`). */
  unpriced: string[];
  /** Of `unpriced`, the rerank targets billed in search units: the price each needs has a `searchUnit`. */
  needsSearchUnit: string[];
  /** Of `needsSearchUnit`, those with input/output prices that lack only the `searchUnit`. */
  onlySearchUnitMissing: string[];
}

/** A model's price as nano-dollars per token (and per search unit); null when it is not priced. */
interface Rates {
  input: number;
  output: number;
  /** Per search unit; undefined until a call with search units asks (see unitRate). */
  unit?: number | null;
}

const PER_MILLION = 1_000_000;
const rateCache = new WeakMap<CostOf, Map<string, Rates | null>>();

/**
 * Prices do not change while the process runs, so each model's rates are read from the price book
 * once: an estimate is then a few multiplications instead of exact decimal arithmetic per target.
 * Rounded up, so the reservation is never below the exact worst case.
 */
function ratesOf(costOf: CostOf, model: string): Rates | null {
  let byModel = rateCache.get(costOf);
  if (!byModel) rateCache.set(costOf, (byModel = new Map()));
  let rates = byModel.get(model);
  if (rates === undefined) {
    const input = costOf(model, { ...emptyUsage(), inputTokens: PER_MILLION });
    const output = costOf(model, { ...emptyUsage(), outputTokens: PER_MILLION });
    rates = input === null || output === null ? null : { input: toNanos(input) / PER_MILLION, output: toNanos(output) / PER_MILLION };
    if (byModel.size < 10_000) byModel.set(model, rates);
  }
  return rates;
}

/**
 * A search unit's price, asked only for calls that have search units (reranks): asking every model
 * made the catalog warn "model has no price" for chat and embedding models, which have none and need
 * none, and that one warning per model was then spent on a false alarm.
 */
function unitRate(costOf: CostOf, model: string, rates: Rates): number | null {
  if (rates.unit === undefined) {
    const unit = costOf(model, { ...emptyUsage(), searchUnits: PER_MILLION });
    rates.unit = unit === null ? null : toNanos(unit) / PER_MILLION;
  }
  return rates.unit;
}

/**
 * What a rerank target's usage is reported in (its RerankingModelV1.billedIn); undefined for a name no
 * reranker can be built for (the call then fails before anything is spent), priced as tokens.
 */
export type RerankBillingOf = (model: string) => RerankBilling | undefined;

/** Worst-case tokens reserved per image part of a chat or responses call, by its `detail`. */
export interface ImageTokens {
  /** `detail: "low"`. */
  low: number;
  /** `detail: "high"`, `"auto"` or none (the provider's default, `auto`, may choose high). */
  high: number;
}

/**
 * OpenAI's published image costs at their dearest, gpt-4o-mini's (2,833 base tokens + 5,667 per
 * 512 px tile): low detail is the base alone; high (and auto) at most 8 tiles, since an image is
 * fitted into 2048 x 2048 and then scaled to 768 px on its short side (at most 2048 x 768: 4 x 2
 * tiles), 2,833 + 8 x 5,667 = 48,169. Every other OpenAI model (gpt-4o 85 + 170/tile, patch-based
 * gpt-4.1-mini and o4-mini at most ~2,650) and Anthropic's (about 1,600 at most) cost less.
 * QUIRE_BUDGET_IMAGE_TOKENS_LOW / _HIGH change them.
 */
export const DEFAULT_IMAGE_TOKENS: ImageTokens = { low: 2833, high: 48_169 };

export interface EstimateOptions {
  /** Output tokens assumed for a call that sets no max_tokens (DEFAULT_MAX_OUTPUT_TOKENS). */
  defaultMaxOutputTokens?: number | undefined;
  /** Worst-case tokens per image part (DEFAULT_IMAGE_TOKENS). */
  imageTokens?: ImageTokens | undefined;
  /** What each rerank target reports; without it (tests), or for a name it does not know, a target is priced by its token prices. */
  rerankBillingOf?: RerankBillingOf | undefined;
}

/**
 * The worst case in nano-dollars, or for a model the price book cannot price for the usage its call
 * will report, what is missing: its price (`price`), or only the `searchUnit` of a price that has
 * input/output (`searchUnit`). A rerank call (search units in the estimate) is priced by what its
 * target reports, `billing`: tokens (Voyage, Jina: token prices suffice, the search units are not
 * billed) or search units (Cohere: a `searchUnit` price is needed, since token prices cannot price a
 * search unit and the ledger would meter the call at cost null, uncounted).
 */
function estimateNanos(costOf: CostOf, model: string, usage: UsageV1, billing: RerankBilling): number | 'price' | 'searchUnit' {
  const rates = ratesOf(costOf, model);
  if (!rates) return 'price';
  const tokens = usage.inputTokens * rates.input + usage.outputTokens * rates.output;
  if (billing === 'tokens' || usage.searchUnits === 0) return Math.ceil(tokens);
  const unit = unitRate(costOf, model, rates);
  return unit === null ? 'searchUnit' : Math.ceil(tokens + usage.searchUnits * unit);
}

const charsOf = (value: unknown): number => (typeof value === 'string' ? value.length : JSON.stringify(value ?? '').length);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Characters JSON escapes in a string: quotes, backslashes, control characters, and surrogates (lone ones are written as \uXXXX). */
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The characters `value` takes inside its JSON string's quotes; scanned, not copied, unless something in it is escaped. */
const jsonStringChars = (value: string): number => (ESCAPED.test(value) ? JSON.stringify(value).length - 2 : value.length);

/**
 * The input of messages (chat `messages`, responses `input`) with its images counted apart: providers
 * bill an image by its pixels, not by its URL's characters, so a short URL is thousands of tokens and
 * a data: URL far fewer than its characters. Each image part of a message's content (`image_url`,
 * `input_image`) reserves `imageTokens` by its detail, and its URL is left out of the characters;
 * anything else in the part still counts as characters. Images anywhere else are not sent as images,
 * so they count as characters.
 *
 * Every chat and responses call under governance comes through here, so the body is serialized once
 * as it is, and each image URL's characters (as JSON writes them) are taken off: the same count as
 * serializing a copy with the URLs emptied, without copying messages and parts first.
 */
function messagesInput(messages: unknown, imageTokens: ImageTokens): { chars: number; imageTokens: number } {
  const chars = charsOf(messages);
  if (!Array.isArray(messages)) return { chars, imageTokens: 0 };
  let tokens = 0;
  let urls = 0;
  for (const message of messages) {
    if (!isRecord(message) || !Array.isArray(message.content)) continue;
    for (const part of message.content) {
      if (!isRecord(part)) continue;
      if (part.type === 'image_url' && isRecord(part.image_url) && typeof part.image_url.url === 'string') {
        tokens += part.image_url.detail === 'low' ? imageTokens.low : imageTokens.high;
        urls += jsonStringChars(part.image_url.url);
      } else if (part.type === 'input_image' && typeof part.image_url === 'string') {
        tokens += part.detail === 'low' ? imageTokens.low : imageTokens.high;
        urls += jsonStringChars(part.image_url);
      }
    }
  }
  return { chars: chars - urls, imageTokens: tokens };
}

/**
 * The worst case a request can cost before it goes out: input tokens estimated from characters
 * (4 per token, rounded up; tool definitions and a response schema reach the model as input too)
 * plus a worst case per image (`imageTokens`, by detail), output at max_tokens (or a default, which
 * admission then sends as the cap under a budget), priced at the dearest target the name can reach
 * (a route's targets and downgrade targets). A model the price book cannot price for this call
 * reserves nothing and is listed in `unpriced` (rerank targets billed in search units also in
 * `needsSearchUnit`, and those missing only the `searchUnit` in `onlySearchUnitMissing`): admission
 * refuses it under a budget. Settlement then charges the real usage the provider reported.
 */
export async function estimateRequest(
  body: Record<string, unknown>,
  path: string,
  costOf: CostOf,
  routes: RouteStore,
  options: EstimateOptions = {},
): Promise<Estimate> {
  const defaultMaxOutputTokens = options.defaultMaxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  const images = options.imageTokens ?? DEFAULT_IMAGE_TOKENS;
  const model = String(body.model);
  let inputTokens: number;
  let outputTokens = 0;
  let usage: UsageV1;
  if (path.endsWith('/chat/completions')) {
    const extras = [body.tools, body.response_format].reduce<number>((n, v) => (v == null ? n : n + charsOf(v)), 0);
    const input = messagesInput(body.messages, images);
    inputTokens = Math.ceil((input.chars + extras) / 4) + input.imageTokens;
    const max = Number(body.max_completion_tokens ?? body.max_tokens ?? defaultMaxOutputTokens);
    outputTokens = Number.isFinite(max) && max > 0 ? Math.ceil(max) : defaultMaxOutputTokens;
    usage = { ...emptyUsage(), inputTokens, outputTokens };
  } else if (path.endsWith('/responses')) {
    const extras = [body.instructions, body.tools, body.text].reduce<number>((n, v) => (v == null ? n : n + charsOf(v)), 0);
    const input = messagesInput(body.input, images);
    inputTokens = Math.ceil((input.chars + extras) / 4) + input.imageTokens;
    const max = Number(body.max_output_tokens ?? defaultMaxOutputTokens);
    outputTokens = Number.isFinite(max) && max > 0 ? Math.ceil(max) : defaultMaxOutputTokens;
    usage = { ...emptyUsage(), inputTokens, outputTokens };
  } else if (path.endsWith('/embeddings')) {
    inputTokens = Math.ceil(charsOf(body.input) / 4);
    usage = { ...emptyUsage(), inputTokens };
  } else {
    const docs = Array.isArray(body.documents) ? body.documents.length : 0;
    inputTokens = Math.ceil((charsOf(body.query) + charsOf(body.documents)) / 4);
    usage = { ...emptyUsage(), inputTokens, searchUnits: Math.max(1, Math.ceil(docs / 100)) };
  }
  return { inputTokens, outputTokens, ...(await worstCase(model, usage, costOf, routes, options.rerankBillingOf)) };
}

/**
 * The dearest target `model` can reach (a route's targets and downgrade targets, or the model itself)
 * for `usage`, in nano-dollars, and the targets the price book cannot price for it (`needsSearchUnit`:
 * those of them billed in search units; `onlySearchUnitMissing`: of those, the ones priced in tokens).
 */
export async function worstCase(
  model: string,
  usage: UsageV1,
  costOf: CostOf,
  routes: RouteStore,
  rerankBillingOf?: RerankBillingOf,
): Promise<Omit<Estimate, 'inputTokens' | 'outputTokens'>> {
  const route = model.includes('/') ? undefined : await routes.get(model);
  // Neither `provider/model` nor a route: the call is refused as an unknown model before anything is spent.
  if (!route && !model.includes('/')) return { nanos: 0, unpriced: [], needsSearchUnit: [], onlySearchUnitMissing: [] };
  const targets = route ? [...new Set([...route.targets, ...(route.downgrade?.targets ?? [])].map((t) => t.model))] : [model];
  let nanos = 0;
  const unpriced: string[] = [];
  const needsSearchUnit: string[] = [];
  const onlySearchUnitMissing: string[] = [];
  for (const t of targets) {
    const billing = usage.searchUnits > 0 ? (rerankBillingOf?.(t) ?? 'tokens') : 'tokens';
    const cost = estimateNanos(costOf, t, usage, billing);
    if (typeof cost === 'number') nanos = Math.max(nanos, cost);
    else {
      unpriced.push(t);
      // Billed in search units: the price it needs has a searchUnit, whether it has none or lacks only that.
      if (billing === 'searchUnits') needsSearchUnit.push(t);
      if (cost === 'searchUnit') onlySearchUnitMissing.push(t);
    }
  }
  return { nanos, unpriced, needsSearchUnit, onlySearchUnitMissing };
}
