import { emptyUsage, type UsageV1 } from '@quire/models';
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
  /** The models the call may reach that have no price (their cost is not in `nanos`). */
  unpriced: string[];
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
 * Null for a model without a price. A priced model without a search-unit price bills reranks by
 * tokens (the estimate's search units then cost nothing): it is priced, not free.
 */
function estimateNanos(costOf: CostOf, model: string, usage: UsageV1): number | null {
  const rates = ratesOf(costOf, model);
  if (!rates) return null;
  const unit = usage.searchUnits > 0 ? (unitRate(costOf, model, rates) ?? 0) : 0;
  return Math.ceil(usage.inputTokens * rates.input + usage.outputTokens * rates.output + usage.searchUnits * unit);
}

const charsOf = (value: unknown): number => (typeof value === 'string' ? value.length : JSON.stringify(value ?? '').length);

/**
 * The worst case a request can cost before it goes out: input tokens estimated from characters
 * (4 per token, rounded up; tool definitions and a response schema reach the model as input too),
 * output at max_tokens (or a default, which admission then sends as the cap under a budget), priced
 * at the dearest target the name can reach (a route's targets and downgrade targets). An unpriced
 * model reserves nothing and is listed in `unpriced`: admission refuses it under a budget.
 */
export async function estimateRequest(
  body: Record<string, unknown>,
  path: string,
  costOf: CostOf,
  routes: RouteStore,
  defaultMaxOutputTokens: number = DEFAULT_MAX_OUTPUT_TOKENS,
): Promise<Estimate> {
  const model = String(body.model);
  let inputTokens: number;
  let outputTokens = 0;
  let usage: UsageV1;
  if (path.endsWith('/chat/completions')) {
    const extras = [body.tools, body.response_format].reduce<number>((n, v) => (v == null ? n : n + charsOf(v)), 0);
    inputTokens = Math.ceil((charsOf(body.messages) + extras) / 4);
    const max = Number(body.max_completion_tokens ?? body.max_tokens ?? defaultMaxOutputTokens);
    outputTokens = Number.isFinite(max) && max > 0 ? Math.ceil(max) : defaultMaxOutputTokens;
    usage = { ...emptyUsage(), inputTokens, outputTokens };
  } else if (path.endsWith('/responses')) {
    const extras = [body.instructions, body.tools, body.text].reduce<number>((n, v) => (v == null ? n : n + charsOf(v)), 0);
    inputTokens = Math.ceil((charsOf(body.input) + extras) / 4);
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
  return { inputTokens, outputTokens, ...(await worstCase(model, usage, costOf, routes)) };
}

/**
 * The dearest target `model` can reach (a route's targets and downgrade targets, or the model itself)
 * for `usage`, in nano-dollars, and the targets that have no price.
 */
export async function worstCase(model: string, usage: UsageV1, costOf: CostOf, routes: RouteStore): Promise<{ nanos: number; unpriced: string[] }> {
  const route = model.includes('/') ? undefined : await routes.get(model);
  // Neither `provider/model` nor a route: the call is refused as an unknown model before anything is spent.
  if (!route && !model.includes('/')) return { nanos: 0, unpriced: [] };
  const targets = route ? [...new Set([...route.targets, ...(route.downgrade?.targets ?? [])].map((t) => t.model))] : [model];
  let nanos = 0;
  const unpriced: string[] = [];
  for (const t of targets) {
    const cost = estimateNanos(costOf, t, usage);
    if (cost === null) unpriced.push(t);
    else nanos = Math.max(nanos, cost);
  }
  return { nanos, unpriced };
}
