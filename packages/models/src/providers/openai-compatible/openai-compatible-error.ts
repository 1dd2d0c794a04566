import { ProviderError } from '../../errors/provider-error.js';
import { providerErrorFromResponse } from '../../errors/provider-error-from-response.js';

/**
 * A `{"error": ...}` payload inside a 200 stream. There is no status, so we infer one from the
 * error's type/code: rate limits stay rate limits, everything else counts as a server error.
 */
export function openAIStreamError(provider: string, payload: unknown, requestId?: string): ProviderError {
  const error = (payload as { error?: unknown }).error;
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const tag = `${String(fields.type ?? '')} ${String(fields.code ?? '')}`;
  let status = 500;
  if (/insufficient_quota/.test(tag)) status = 429;
  else if (/rate_limit|tokens|requests/.test(tag)) status = 429;
  else if (/overloaded/.test(tag)) status = 503;
  else if (/invalid_request/.test(tag)) status = 400;
  const headers: Record<string, string> = requestId ? { 'x-request-id': requestId } : {};
  return providerErrorFromResponse(provider, status, headers, payload);
}
