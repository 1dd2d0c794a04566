/**
 * Hooks a caller can hang on the AbortSignal it passes (the gateway's per-target connect deadline):
 * `started` when a request goes out, `connected` when its connection is ready to carry it (TCP, and
 * TLS for https; at once for a pooled socket), `headers` when its response headers arrive. `fetch`
 * cannot tell when it connected, so through it `headers` is the first sign of a connection.
 */
export const HTTP_HOOKS = Symbol.for('quire.models.httpHooks');
export interface HttpHooks {
  started(): void;
  connected(): void;
  headers(): void;
}
export type HookedSignal = AbortSignal & { [HTTP_HOOKS]?: HttpHooks };
