import { ProviderError } from '@quire/models';
import { AppError, retryAfterHeaders } from '@quire/server-kit';

/**
 * Always an AppError, for a retrieval route to answer: provider failures (thrown by the gateway
 * client) keep their stable code and the gateway's wait hint, so a rate-limited answer still tells
 * the client when to come back, and their `message` (not `publicMessage`): the text of the
 * gateway's answer, which the gateway already wrote for callers, or the client's own words where the
 * gateway did not answer in its format. Anything else becomes `internal_error`.
 */
export function toAppErrorOrInternal(error: unknown): AppError {
  if (AppError.is(error)) return error;
  if (ProviderError.is(error)) {
    const headers = retryAfterHeaders(error.retryAfterHintMs, error.code);
    return new AppError(error.code, error.message, { cause: error, ...(headers ? { headers } : {}) });
  }
  return new AppError('internal_error', 'Internal error.', { cause: error });
}

export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}
