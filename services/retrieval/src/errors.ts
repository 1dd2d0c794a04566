import { ProviderError } from '@quire/models';
import { AppError, retryAfterHeaders } from '@quire/server-kit';

/**
 * Provider failures (thrown by the gateway client) keep their stable code and the gateway's wait
 * hint, so a rate-limited answer still tells the client when to come back; anything else is internal.
 */
export function toAppError(error: unknown): AppError {
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
