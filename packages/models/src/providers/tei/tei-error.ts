import { ProviderError } from '../../errors/provider-error.js';
import { providerErrorFromResponse } from '../../errors/provider-error-from-response.js';
import { emptyUsage, type UsageV1 } from '../../spec/usage.js';

/**
 * TEI answers 429 with `error_type: "overloaded"` when its concurrency limit is reached: that is
 * the server's overload signal, not a quota, so it maps to provider_overloaded (still retryable).
 */
export function asTeiError(provider: string, error: unknown): unknown {
  if (!ProviderError.is(error) || error.status !== 429) return error;
  const type = (error.providerBody as { error_type?: unknown } | null)?.error_type;
  if (typeof type !== 'string' || type.toLowerCase() !== 'overloaded') return error;
  const mapped = providerErrorFromResponse(provider, 503, {}, error.providerBody);
  const retold = (text: string) => text.replace('HTTP 503', 'HTTP 429, overloaded');
  return error.withChanges({ code: mapped.code, provider, message: retold(mapped.message), publicMessage: retold(mapped.publicMessage), retryable: true });
}

/** TEI puts no usage in `/embed` or `/rerank` bodies; `x-compute-tokens` is the only count (providers.md §7.3). */
export function teiUsage(headers: { get(name: string): string | null }): UsageV1 {
  const value = Number(headers.get('x-compute-tokens') ?? Number.NaN);
  return Number.isFinite(value) && value >= 0 ? { ...emptyUsage(true), inputTokens: value } : emptyUsage(false);
}
