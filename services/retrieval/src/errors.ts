import { ProviderError } from '@quire/models';
import { AppError } from '@quire/server-kit';

/** Provider failures (thrown by the gateway client) keep their stable code; anything else is internal. */
export function toAppError(error: unknown): AppError {
  if (AppError.is(error)) return error;
  if (ProviderError.is(error)) return new AppError(error.code, error.message, { cause: error });
  return new AppError('internal_error', 'Internal error.', { cause: error });
}

export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}
