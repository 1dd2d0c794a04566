import type { ServerResponse } from 'node:http';

/**
 * Aborts when the client goes away before its answer was written, so the provider call, its retries
 * and fallbacks stop instead of being paid for on behalf of nobody.
 */
export function clientSignal(res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  // A client that left before the handler asked (during an await) closed the response already: its
  // 'close' event has fired and will not fire again.
  if (res.destroyed && !res.writableFinished) abort.abort();
  else {
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
  }
  return abort.signal;
}
