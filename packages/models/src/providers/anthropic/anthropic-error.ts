import type { ProviderError } from '../../errors/provider-error.js';
import { providerErrorFromResponse } from '../../errors/provider-error-from-response.js';

/** Anthropic error types and the status each one comes with (providers.md §4.4). */
const STATUS_OF_ERROR_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** An `event: error` after HTTP 200 has no status of its own; the error type tells us which it would have been. */
export function anthropicStreamError(provider: string, payload: unknown, requestId?: string): ProviderError {
  const type = (payload as { error?: { type?: unknown } }).error?.type;
  const status = (typeof type === 'string' && STATUS_OF_ERROR_TYPE[type]) || 500;
  return providerErrorFromResponse(provider, status, requestId ? { 'request-id': requestId } : {}, payload);
}
