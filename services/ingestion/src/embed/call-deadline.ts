import { ProviderError } from '@quire/models';

/**
 * Runs one provider call with a signal that aborts when `signal` does (the job or build no longer
 * owns its work) or after `timeoutMs`, and settles as soon as either happens, even under a model
 * that ignores its signal. A call past its deadline fails as a retryable `provider_timeout`: a live
 * worker's heartbeat keeps its claim (or lease) alive, so without a deadline a call that hangs would
 * hold the document (or the index build) forever, and nothing else would end it.
 */
export async function withinDeadline<T>(
  run: (signal: AbortSignal) => Promise<T>,
  options: { signal?: AbortSignal; timeoutMs: number; provider: string; what: string },
): Promise<T> {
  options.signal?.throwIfAborted();
  const call = new AbortController();
  const follow = () => call.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', follow, { once: true });
  const deadline = setTimeout(() => {
    const message = `${options.what} took longer than ${options.timeoutMs} ms and was stopped.`;
    call.abort(new ProviderError({ code: 'provider_timeout', provider: options.provider, message, retryable: true }));
  }, options.timeoutMs);
  deadline.unref();
  const stopped = new Promise<never>((_resolve, reject) => {
    call.signal.addEventListener('abort', () => reject(call.signal.reason), { once: true });
  });
  try {
    return await Promise.race([run(call.signal), stopped]);
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', follow);
  }
}
