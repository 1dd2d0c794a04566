import type {
  EmbedResultV1, EmbeddingModelV1, GenerateOptionsV1, GenerateResultV1, GenerationModelV1, RerankResultV1, RerankingModelV1, StreamPartV1, UsageV1,
} from '@quire/models';
import { addUsage, embeddingBatchLimitsOf, emptyUsage, estimateEmbeddingTokens, planEmbeddingBatches, ProviderError } from '@quire/models';
import { AppError, type Logger } from '@quire/server-kit';
import type { Attribution, Ledger } from './ledger.js';
import { errorCodeOf, providerErrorToAppError } from './model-errors.js';
import { ledgerBase, meter, NEXT_CALL, runPlan, type AttemptContext, type AttemptLoopDeps } from './routing/attempts.js';
import { NO_BUDGETS, type BudgetProbe } from './routing/budget-probe.js';
import type { RouteRetryPolicy } from './routing/route-config.js';
import { RoutePlanner, type Capability, type Plan } from './routing/route-planner.js';
import type { RouteStore } from './routing/route-store.js';
import { HealthBook } from './routing/target-health.js';

/** The parts of `@quire/models` the gateway uses (registry + price book), as an interface for tests. */
export interface ModelCatalog {
  embeddingModel(name: string): EmbeddingModelV1;
  generationModel(name: string): GenerationModelV1;
  rerankingModel(name: string): RerankingModelV1;
  costOf(name: string, usage: UsageV1): string | null;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface ModelServiceOptions {
  routes?: RouteStore;
  budget?: BudgetProbe;
  health?: HealthBook;
  random?: () => number;
}

/** A rough count for streams that ended before the provider reported usage (flagged as unreported). */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

function promptChars(options: GenerateOptionsV1): number {
  return options.messages.reduce((n, m) => n + JSON.stringify(m.content ?? '').length, 0);
}

export interface StreamSession {
  /** Parts in order; the first one was already received from the provider when this resolves. */
  parts: AsyncIterable<StreamPartV1>;
  requestId?: string;
  /** The target that serves the stream (`provider/model`). */
  model: string;
}

const UNIT_USAGE: Record<Capability, UsageV1> = {
  chat: { ...emptyUsage(), inputTokens: 1_000_000, outputTokens: 1_000_000 },
  embedding: { ...emptyUsage(), inputTokens: 1_000_000 },
  rerank: { ...emptyUsage(), searchUnits: 1000 },
};

/**
 * Every model call the gateway makes: resolve the name (a route or `provider/model`) to an ordered
 * list of targets, call, retry, fall back, price, and write one ledger row per attempt (failed
 * attempts included) before the caller sees the result.
 */
export class ModelService {
  readonly health: HealthBook;
  private readonly planner: RoutePlanner;
  private readonly loop: AttemptLoopDeps;

  constructor(
    private readonly catalog: ModelCatalog,
    ledger: Ledger,
    private readonly logger: Logger,
    retry: RetryPolicy = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 5000 },
    options: ModelServiceOptions = {},
  ) {
    this.health = options.health ?? new HealthBook();
    const priceIndex = (model: string, capability: Capability) => {
      const cost = catalog.costOf(model, UNIT_USAGE[capability]);
      return cost === null ? undefined : Number(cost);
    };
    this.planner = new RoutePlanner(options.routes, this.health, options.budget ?? NO_BUDGETS, priceIndex, retry as RouteRetryPolicy, options.random);
    this.loop = { ledger, logger, health: this.health, costOf: (name, usage) => catalog.costOf(name, usage) };
  }

  /**
   * Embeds `values` in as many provider calls as the target's caps need (`maxEmbeddingsPerCall` and,
   * where declared, `maxTokensPerCall`, tokens estimated from UTF-8 bytes), one after another. Each
   * call is an attempt of its own: its own deadlines, retries and ledger row, and a retry resumes at
   * the call that failed. Falling back to another target starts over there, since one model's vectors
   * cannot sit beside another's; the calls already made stay in the ledger, and the answer's usage is
   * the serving target's. `encoding`: the wire format the caller wants, passed to providers that can
   * send base64 (see EmbedOptionsV1). `abortSignal`: the client's; when it aborts, the call in flight
   * is cancelled (and metered as aborted) and no further call, retry or fallback is made.
   */
  async embed(
    name: string, values: string[], dimensions: number | undefined, attribution: Attribution, encoding?: 'float' | 'base64', abortSignal?: AbortSignal,
  ): Promise<EmbedResultV1> {
    const plan = await this.plan(name, 'embedding', attribution);
    const tokens = values.map(estimateEmbeddingTokens);
    let split: { target: string; batches: [number, number][]; results: EmbedResultV1[] } | undefined;
    return runPlan(this.loop, plan, 'embedding', false, attribution, abortSignal, async (ctx) => {
      const model = this.catalog.embeddingModel(ctx.model);
      if (split?.target !== ctx.model) {
        const batches = planEmbeddingBatches(tokens, embeddingBatchLimitsOf(model));
        split = { target: ctx.model, batches: batches.length > 0 ? batches : [[0, 0]], results: [] };
      }
      const { batches, results } = split;
      const [start, end] = batches[results.length]!;
      ctx.estimateInput = () => estimateTokens(values.slice(start, end).reduce((n, v) => n + v.length, 0));
      // On the attempt's own context, so a failure row (written by runPlan) names the call too.
      if (batches.length > 1) ctx.reason += `; call ${results.length + 1}/${batches.length} (inputs ${start}-${end - 1})`;
      const result = await this.once(ctx, 'embedding', attribution, async () => {
        const r = await ctx.timer.run(() =>
          model.doEmbed({
            values: values.slice(start, end), ...(dimensions ? { dimensions } : {}), ...(encoding ? { encoding } : {}), abortSignal: ctx.timer.signal,
            headers: { 'x-request-id': attribution.traceId },
          }),
        );
        // Checked before the call's row is written: a short answer would shift every later vector.
        if (r.embeddings.length !== end - start) {
          throw new ProviderError({
            code: 'provider_bad_response', provider: ctx.provider, message: `Provider "${ctx.provider}" returned ${r.embeddings.length} embeddings for ${end - start} inputs.`,
            ...(r.requestId ? { requestId: r.requestId } : {}),
          });
        }
        return { result: r, usage: r.usage, requestId: r.requestId };
      });
      results.push(result);
      if (results.length < batches.length) return NEXT_CALL;
      if (results.length === 1) return result;
      return {
        embeddings: results.flatMap((r) => r.embeddings),
        usage: results.reduce((sum, r) => addUsage(sum, r.usage), emptyUsage(true)),
        ...(results[0]!.responseModelId ? { responseModelId: results[0]!.responseModelId } : {}),
      };
    });
  }

  async generate(name: string, options: GenerateOptionsV1, attribution: Attribution, abortSignal?: AbortSignal): Promise<GenerateResultV1> {
    const plan = await this.plan(name, 'chat', attribution);
    return runPlan(this.loop, plan, 'chat', false, attribution, abortSignal, (ctx) => {
      ctx.estimateInput = () => estimateTokens(promptChars(options));
      return this.once(ctx, 'chat', attribution, async () => {
        const model = this.catalog.generationModel(ctx.model);
        const result = await ctx.timer.run(() => model.doGenerate({ ...options, abortSignal: ctx.timer.signal, headers: { 'x-request-id': attribution.traceId } }));
        return { result, usage: result.usage, requestId: result.requestId };
      });
    });
  }

  async rerank(
    name: string, query: string, documents: string[], topN: number | undefined, attribution: Attribution, abortSignal?: AbortSignal,
  ): Promise<RerankResultV1 & { model: string }> {
    const plan = await this.plan(name, 'rerank', attribution);
    return runPlan(this.loop, plan, 'rerank', false, attribution, abortSignal, (ctx) => {
      ctx.estimateInput = () => estimateTokens(documents.reduce((n, d) => n + d.length + query.length, 0));
      return this.once(ctx, 'rerank', attribution, async () => {
        const model = this.catalog.rerankingModel(ctx.model);
        if (documents.length > model.maxDocumentsPerCall) {
          throw new AppError('invalid_request', `"${ctx.model}" reranks at most ${model.maxDocumentsPerCall} documents per call; got ${documents.length}.`, { param: 'documents' });
        }
        const result = await ctx.timer.run(() =>
          model.doRerank({ query, documents, ...(topN !== undefined ? { topN } : {}), abortSignal: ctx.timer.signal, headers: { 'x-request-id': attribution.traceId } }),
        );
        return { result: { ...result, model: ctx.model }, usage: result.usage, requestId: result.requestId };
      });
    });
  }

  /**
   * Opens a stream, retrying and falling back until the first part arrives; after that the caller
   * owns the stream and failures surface from the iterator. The ledger row is written when the
   * stream ends, fails or is aborted, with the provider's usage or, failing that, an estimate
   * flagged as unreported.
   */
  async stream(name: string, options: GenerateOptionsV1, attribution: Attribution, abortSignal: AbortSignal): Promise<StreamSession> {
    const plan = await this.plan(name, 'chat', attribution);
    const prompt = promptChars(options);
    return runPlan(this.loop, plan, 'chat', true, attribution, abortSignal, async (ctx) => {
      ctx.estimateInput = () => estimateTokens(prompt);
      const model = this.catalog.generationModel(ctx.model);
      let iterator: AsyncIterator<StreamPartV1> | undefined;
      try {
        const opened = await ctx.timer.run(() => model.doStream({ ...options, abortSignal: ctx.timer.signal, headers: { 'x-request-id': attribution.traceId } }));
        ctx.timer.done('connect');
        iterator = opened.stream[Symbol.asyncIterator]();
        const first = await iterator.next();
        if (first.done) {
          // Nothing to serve: a failure before the first byte like any other, so the next try or target gets the request.
          throw new ProviderError({
            code: 'provider_bad_response', provider: ctx.provider, message: `Provider "${ctx.provider}" ended the stream before sending anything.`, retryable: true,
            ...(opened.requestId ? { requestId: opened.requestId } : {}),
          });
        }
        ctx.timer.done('first byte');
        const firstTokenMs = performance.now() - ctx.started;
        ctx.health?.success(firstTokenMs);
        return {
          parts: this.meteredParts(first, iterator, ctx, attribution, firstTokenMs, prompt, opened.requestId),
          ...(opened.requestId ? { requestId: opened.requestId } : {}),
          model: ctx.model,
        };
      } catch (error) {
        await iterator?.return?.().catch(() => undefined);
        throw error;
      }
    });
  }

  private async plan(name: string, capability: Capability, attribution: Attribution): Promise<Plan> {
    const plan = await this.planner.plan(name, capability, attribution.identity);
    if (!plan) throw new AppError('model_not_found', `No route or model named "${name}": use a route name or "provider/model".`, { param: 'model' });
    return plan;
  }

  /** One non-streaming attempt: call, then the success row (failures are the plan loop's). */
  private async once<T>(
    ctx: AttemptContext,
    capability: Capability,
    attribution: Attribution,
    call: () => Promise<{ result: T; usage: UsageV1; requestId: string | undefined }>,
  ): Promise<T> {
    const { result, usage, requestId } = await call();
    ctx.timer.clear();
    const latencyMs = performance.now() - ctx.started;
    ctx.health?.success(latencyMs);
    await meter(this.loop, {
      ...ledgerBase(ctx, attribution, capability, false), status: 'ok', usage, costUsd: this.catalog.costOf(ctx.model, usage), latencyMs,
      ...(requestId ? { providerRequestId: requestId } : {}),
    });
    return result;
  }

  private async *meteredParts(
    first: IteratorResult<StreamPartV1>,
    iterator: AsyncIterator<StreamPartV1>,
    ctx: AttemptContext,
    attribution: Attribution,
    firstTokenMs: number,
    promptChars: number,
    requestId: string | undefined,
  ): AsyncGenerator<StreamPartV1> {
    let usage: UsageV1 | undefined;
    let outputChars = 0;
    let status: 'ok' | 'error' | 'aborted' = 'ok';
    let errorCode: string | undefined;
    try {
      let next = first;
      while (!next.done) {
        const part = next.value;
        if (part.type === 'text-delta' || part.type === 'reasoning-delta') outputChars += part.text.length;
        if (part.type === 'tool-call-delta') outputChars += part.argumentsDelta.length;
        if (part.type === 'finish') usage = part.usage;
        yield part;
        next = await iterator.next();
      }
    } catch (raw) {
      const error = ctx.timer.normalise(raw, ctx.provider);
      status = ctx.timer.clientAborted || (error as Error)?.name === 'AbortError' ? 'aborted' : 'error';
      errorCode = errorCodeOf(error);
      if (status === 'error') ctx.health?.failure();
      throw providerErrorToAppError(error);
    } finally {
      // Runs on normal end, on error and when the consumer stops early (client went away).
      ctx.timer.clear();
      if (!usage?.reported) {
        if (status === 'ok' && !usage) status = 'aborted';
        usage = { ...emptyUsage(false), inputTokens: estimateTokens(promptChars), outputTokens: estimateTokens(outputChars) };
      }
      await iterator.return?.().catch(() => undefined);
      await meter(this.loop, {
        ...ledgerBase(ctx, attribution, 'chat', true), status, ...(errorCode ? { errorCode } : {}), usage, costUsd: this.catalog.costOf(ctx.model, usage),
        latencyMs: performance.now() - ctx.started, firstTokenMs, ...(requestId ? { providerRequestId: requestId } : {}),
      });
    }
  }
}
