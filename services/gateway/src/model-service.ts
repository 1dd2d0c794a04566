import type { EmbedResultV1, GenerateOptionsV1, GenerateResultV1, StreamPartV1, UsageV1 } from '@quire/models';
import { emptyUsage, ProviderError } from '@quire/models';
import type { Logger } from '@quire/server-kit';
import type { Attribution, Ledger } from './ledger.js';
import { errorCodeOf, toAppError } from './model-errors.js';

/** The parts of `@quire/models` the gateway uses (registry + price book), as an interface for tests. */
export interface ModelCatalog {
  embeddingModel(name: string): import('@quire/models').EmbeddingModelV1;
  generationModel(name: string): import('@quire/models').GenerationModelV1;
  costOf(name: string, usage: UsageV1): string | null;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function backoff(policy: RetryPolicy, attempt: number, error: unknown): number {
  const hinted = ProviderError.is(error) ? error.retryAfterMs : undefined;
  const exponential = policy.baseDelayMs * 2 ** (attempt - 1);
  const jittered = exponential / 2 + Math.random() * (exponential / 2);
  return Math.min(policy.maxDelayMs, hinted ?? jittered);
}

function isRetryable(error: unknown): boolean {
  return ProviderError.is(error) && error.retryable;
}

function providerOf(name: string): { provider: string; model: string } {
  const slash = name.indexOf('/');
  return { provider: name.slice(0, slash), model: name.slice(slash + 1) };
}

/** A rough count for streams that ended before the provider reported usage (flagged as unreported). */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

export interface StreamSession {
  /** Parts in order; the first one was already received from the provider when this resolves. */
  parts: AsyncIterable<StreamPartV1>;
  requestId?: string;
}

/**
 * Every model call the gateway makes: resolve, call, retry what is retryable, price, and write one
 * ledger row per attempt (failed attempts included) before the caller sees the result.
 */
export class ModelService {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly ledger: Ledger,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 5000 },
  ) {}

  async embed(name: string, values: string[], dimensions: number | undefined, attribution: Attribution): Promise<EmbedResultV1> {
    const model = this.resolve(() => this.catalog.embeddingModel(name));
    return this.withRetries(name, 'embedding', attribution, async () => {
      const result = await model.doEmbed({ values, ...(dimensions ? { dimensions } : {}), headers: { 'x-request-id': attribution.traceId } });
      return { result, usage: result.usage, requestId: result.requestId };
    });
  }

  async generate(name: string, options: GenerateOptionsV1, attribution: Attribution): Promise<GenerateResultV1> {
    const model = this.resolve(() => this.catalog.generationModel(name));
    return this.withRetries(name, 'chat', attribution, async () => {
      const result = await model.doGenerate({ ...options, headers: { 'x-request-id': attribution.traceId } });
      return { result, usage: result.usage, requestId: result.requestId };
    });
  }

  /**
   * Opens a stream, retrying until the first part arrives; after that the caller owns the stream
   * and failures surface from the iterator. The ledger row is written when the stream ends, fails
   * or is aborted, with the provider's usage or, failing that, an estimate flagged as unreported.
   */
  async stream(name: string, options: GenerateOptionsV1, attribution: Attribution, abortSignal: AbortSignal): Promise<StreamSession> {
    const model = this.resolve(() => this.catalog.generationModel(name));
    const { provider, model: modelId } = providerOf(name);
    const promptChars = options.messages.reduce((n, m) => n + JSON.stringify(m.content ?? '').length, 0);
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let iterator: AsyncIterator<StreamPartV1> | undefined;
      try {
        const opened = await model.doStream({ ...options, abortSignal, headers: { 'x-request-id': attribution.traceId } });
        iterator = opened.stream[Symbol.asyncIterator]();
        const first = await iterator.next();
        const firstTokenMs = performance.now() - started;
        return { parts: this.meteredParts(first, iterator, { name, provider, modelId, attribution, attempt, started, firstTokenMs, promptChars, requestId: opened.requestId }), ...(opened.requestId ? { requestId: opened.requestId } : {}) };
      } catch (error) {
        await iterator?.return?.().catch(() => undefined);
        const aborted = abortSignal.aborted;
        await this.ledger.record({
          attribution, capability: 'chat', provider, model: modelId, attempt, stream: true,
          status: aborted ? 'aborted' : 'error', errorCode: errorCodeOf(error), usage: emptyUsage(false),
          costUsd: this.catalog.costOf(name, emptyUsage(false)), latencyMs: performance.now() - started,
        });
        if (!aborted && isRetryable(error) && attempt < this.retry.maxAttempts) {
          await sleep(backoff(this.retry, attempt, error));
          continue;
        }
        throw toAppError(error);
      }
    }
  }

  private async *meteredParts(
    first: IteratorResult<StreamPartV1>,
    iterator: AsyncIterator<StreamPartV1>,
    m: { name: string; provider: string; modelId: string; attribution: Attribution; attempt: number; started: number; firstTokenMs: number; promptChars: number; requestId: string | undefined },
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
    } catch (error) {
      status = (error as Error)?.name === 'AbortError' ? 'aborted' : 'error';
      errorCode = errorCodeOf(error);
      throw toAppError(error);
    } finally {
      // Runs on normal end, on error and when the consumer stops early (client went away).
      if (!usage?.reported) {
        if (status === 'ok' && !usage) status = 'aborted';
        usage = { ...emptyUsage(false), inputTokens: estimateTokens(m.promptChars), outputTokens: estimateTokens(outputChars) };
      }
      await iterator.return?.().catch(() => undefined);
      await this.ledger
        .record({
          attribution: m.attribution, capability: 'chat', provider: m.provider, model: m.modelId, attempt: m.attempt, stream: true,
          status, ...(errorCode ? { errorCode } : {}), usage, costUsd: this.catalog.costOf(m.name, usage),
          latencyMs: performance.now() - m.started, firstTokenMs: m.firstTokenMs, ...(m.requestId ? { providerRequestId: m.requestId } : {}),
        })
        .catch(() => undefined);
    }
  }

  private resolve<T>(get: () => T): T {
    try {
      return get();
    } catch (error) {
      throw toAppError(error);
    }
  }

  private async withRetries<T>(
    name: string,
    capability: 'chat' | 'embedding',
    attribution: Attribution,
    call: () => Promise<{ result: T; usage: UsageV1; requestId: string | undefined }>,
  ): Promise<T> {
    const { provider, model } = providerOf(name);
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const { result, usage, requestId } = await call();
        await this.ledger.record({
          attribution, capability, provider, model, attempt, stream: false, status: 'ok', usage,
          costUsd: this.catalog.costOf(name, usage), latencyMs: performance.now() - started, ...(requestId ? { providerRequestId: requestId } : {}),
        });
        return result;
      } catch (error) {
        if (ProviderError.is(error) || (error as Error)?.name === 'AbortError') {
          await this.ledger.record({
            attribution, capability, provider, model, attempt, stream: false, status: 'error', errorCode: errorCodeOf(error),
            usage: emptyUsage(false), costUsd: this.catalog.costOf(name, emptyUsage(true)), latencyMs: performance.now() - started,
            ...(ProviderError.is(error) && error.requestId ? { providerRequestId: error.requestId } : {}),
          });
        }
        if (isRetryable(error) && attempt < this.retry.maxAttempts) {
          this.logger.warn('retrying model call', { trace_id: attribution.traceId, model: name, attempt, code: errorCodeOf(error) });
          await sleep(backoff(this.retry, attempt, error));
          continue;
        }
        throw toAppError(error);
      }
    }
  }
}
