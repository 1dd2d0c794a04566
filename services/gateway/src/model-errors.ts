import type { ErrorRequestHandler } from 'express';
import { isErrorCode, type ErrorBody } from '@quire/contracts';
import { ProviderError, UnsupportedFunctionalityError } from '@quire/models';
import { AppError, retryAfterHeaders, toErrorResponse, type ErrorResponse } from '@quire/server-kit';

/**
 * Provider and registry failures become AppErrors with the same stable code, so the client sees an
 * OpenAI-style body with the right status (and the provider's retry-after), and the ledger records
 * the code. The message is the provider error's `publicMessage` (no account details, long provider
 * text cut). A provider's own OpenAI-style `param` for a request's fault (ProviderError.providerParam)
 * is the AppError's, and its `code` rides in `details.provider_code` for modelErrorResponse.
 * Anything else (an AppError, an unknown error) is returned as it is, for the error middleware.
 */
export function providerErrorToAppError(error: unknown, options: { final?: boolean } = {}): AppError | unknown {
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
      ...(error.providerParam !== undefined ? { param: error.providerParam } : {}),
      details: { provider: error.provider, retryable: error.retryable, ...(error.providerCode !== undefined ? { provider_code: error.providerCode } : {}) },
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

/** The model API's error body: OpenAI's, with Quire's code beside the provider's when the provider's is `code`. */
export interface ModelErrorBody {
  error: ErrorBody['error'] & { quire_code?: string };
}

/**
 * toErrorResponse for the model API. Where the provider named a request's fault in OpenAI's words
 * (`context_length_exceeded`, `string_above_max_length`: providerErrorToAppError keeps them only for
 * 400, 404, 413 and 422 outside the account codes), that is the body's `code`, which OpenAI's SDKs expose as
 * `err.code` and clients branch on, and Quire's stable code goes beside it as `quire_code`. The
 * ledger and the logs keep Quire's code (errorCodeOf).
 */
export function modelErrorResponse(error: unknown, traceId: string): ErrorResponse & { body: ModelErrorBody } {
  const response = toErrorResponse(error, traceId);
  const providerCode = AppError.is(error) ? error.details?.provider_code : undefined;
  if (typeof providerCode !== 'string') return response;
  return { ...response, body: { error: { ...response.body.error, code: providerCode, quire_code: response.body.error.code } } };
}

/**
 * The express door's share of modelErrorResponse, so both doors answer alike: an error that carries
 * a provider's code is answered here (a 4xx: nothing to log), anything else goes on to the service's
 * error middleware.
 */
export function providerCodedErrors(): ErrorRequestHandler {
  return (error, _req, res, next) => {
    if (res.headersSent || !AppError.is(error) || typeof error.details?.provider_code !== 'string') return next(error);
    const { status, body, headers } = modelErrorResponse(error, (res.locals.traceId as string | undefined) ?? 'unknown');
    res.set(headers).status(status).json(body);
  };
}

export function errorCodeOf(error: unknown): string {
  if (AppError.is(error) || ProviderError.is(error) || UnsupportedFunctionalityError.is(error)) return error.code;
  if ((error as Error)?.name === 'AbortError') return 'aborted';
  return 'internal_error';
}
