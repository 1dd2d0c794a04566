import type { ServerResponse } from 'node:http';

/**
 * Aborts when the client goes away before its answer was written, so the provider call, its retries
 * and fallbacks stop instead of being paid for on behalf of nobody.
 */
export function clientSignal(res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  return abort.signal;
}
