import { isErrorCode } from '@quire/contracts';
import { ProviderError, UnsupportedFunctionalityError } from '@quire/models';
import { AppError, retryAfterHeaders } from '@quire/server-kit';

/**
 * Provider and registry failures become AppErrors with the same stable code, so the client sees an
 * OpenAI-style body with the right status (and the provider's retry-after), and the ledger records
 * the code.
 */
export function toAppError(error: unknown, options: { final?: boolean } = {}): AppError | unknown {
  if (AppError.is(error)) return error;
  if (ProviderError.is(error)) {
    const code = isErrorCode(error.code) ? error.code : 'provider_server_error';
    // The hint however long: a wait too long to retry within the request is exactly what the client should know.
    // Without one, when the gateway's own retries or fallbacks were spent on this error, or it is not worth
    // retrying (`final`), `x-should-retry: false` tells OpenAI's SDKs, which otherwise retry a 5xx or 429
    // twice more, each time through the gateway's whole retry loop again (9 provider calls for one
    // request). A retryable call the gateway made once (a route with one attempt, a circuit that opened on
    // it) is the client's to retry.
    const hint = retryAfterHeaders(error.retryAfterHintMs, code);
    const headers: Record<string, string> = hint ?? (options.final ? { 'x-should-retry': 'false' } : {});
    return new AppError(code, `${error.provider}: ${error.publicMessage}`, {
      details: { provider: error.provider, retryable: error.retryable },
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      cause: error,
    });
  }
  if (UnsupportedFunctionalityError.is(error)) {
    // The spec's names are OpenAI's in camelCase, so the request field is the snake_case form.
    const param = error.setting.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    return new AppError('model_capability_unsupported', `${error.provider}: ${error.message}`, { param, details: { provider: error.provider }, cause: error });
  }
  const registry = error as { name?: string; code?: string; message?: string };
  if (registry?.name === 'RegistryError' && typeof registry.code === 'string') {
    const mapped = registry.code === 'invalid_model_name' ? 'invalid_request' : registry.code === 'unknown_provider' ? 'model_not_found' : registry.code;
    if (isErrorCode(mapped)) return new AppError(mapped, registry.message ?? 'Model not available.', { param: 'model', cause: error });
  }
  return error;
}

export function errorCodeOf(error: unknown): string {
  if (AppError.is(error) || ProviderError.is(error) || UnsupportedFunctionalityError.is(error)) return error.code;
  if ((error as Error)?.name === 'AbortError') return 'aborted';
  return 'internal_error';
}
