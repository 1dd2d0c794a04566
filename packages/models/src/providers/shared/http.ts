import type { z } from 'zod';
import { ProviderError } from '../../errors/provider-error.js';
import { providerErrorFromFetchFailure, providerErrorFromResponse } from '../../errors/provider-error-from-response.js';
import { HTTP_HOOKS, type HookedSignal } from './http-hooks.js';
import { guardedFetch, nodePost, type HttpResponse } from './node-http.js';

export type { HttpResponse } from './node-http.js';
export type FetchFunction = typeof fetch;

/**
 * A fetch function carrying this symbol (set to true) only observes calls, so postJson may serve
 * them with its own node:http client instead (the gateway's `scopedFetch`).
 */
export const DEFAULT_TRANSPORT = Symbol.for('quire.models.defaultTransport');

export { HTTP_HOOKS, type HttpHooks } from './http-hooks.js';

/** QUIRE_HTTP_CLIENT=fetch serves default-transport calls with WHATWG `fetch` (a debugging switch). */
const FORCE_FETCH = process.env.QUIRE_HTTP_CLIENT === 'fetch';

function isDefaultTransport(fetchFn: FetchFunction | undefined): boolean {
  return fetchFn === undefined || fetchFn === globalThis.fetch || (fetchFn as { [DEFAULT_TRANSPORT]?: boolean })[DEFAULT_TRANSPORT] === true;
}

/**
 * Which transport serves a call. Quire's own (the node:http client, or `fetch` under the switch)
 * connect through the registry's egress guard. A caller-supplied `fetch` without DEFAULT_TRANSPORT
 * is the embedder's own transport (a proxy, a test double) and is called as given: the connect-time
 * guard cannot reach inside it, so only the registry's build-time check of literal addresses and
 * well-known names applies to it.
 */
function send(fetchFn: FetchFunction | undefined, url: string, headers: Record<string, string>, body: string, signal: AbortSignal | undefined): Promise<HttpResponse> {
  const own = isDefaultTransport(fetchFn);
  if (own && !FORCE_FETCH) return nodePost(url, headers, body, signal);
  // A redirect would carry the provider key (x-api-key, api-key, x-goog-api-key) to another host.
  const init: RequestInit = { method: 'POST', headers, body, signal, redirect: 'error' };
  return own ? guardedFetch(url, init) : fetchFn!(url, init);
}

export interface PostJsonArgs {
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  fetch?: FetchFunction;
  abortSignal?: AbortSignal;
  /** Response header that carries the provider's request id (`x-request-id`, `request-id`). */
  requestIdHeader: string;
}

export interface PostJsonResult {
  response: HttpResponse;
  requestId: string | undefined;
}

/** Lower-cases header names so later layers override earlier ones regardless of spelling. */
export function mergeHeaders(...layers: (Record<string, string | undefined> | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const key in layer) {
      const value = layer[key];
      if (value !== undefined) out[key.toLowerCase()] = value;
    }
  }
  return out;
}

export function joinURL(baseURL: string, path: string): string {
  return `${baseURL.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

async function readErrorBody(response: HttpResponse): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** POSTs JSON; non-2xx statuses and network failures come back as ProviderError. */
export async function postJson(args: PostJsonArgs): Promise<PostJsonResult> {
  const hooks = (args.abortSignal as HookedSignal | undefined)?.[HTTP_HOOKS];
  hooks?.started();
  const headers = mergeHeaders({ 'content-type': 'application/json' }, args.headers);
  const body = JSON.stringify(args.body);
  let response: HttpResponse;
  try {
    response = await send(args.fetch, args.url, headers, body, args.abortSignal);
  } catch (error) {
    throw providerErrorFromFetchFailure(args.provider, error, args.abortSignal);
  }
  hooks?.headers();
  if (!response.ok) {
    const errorBody = await readErrorBody(response);
    const raw = (response as { rawHeaders?: Record<string, string | string[] | undefined> }).rawHeaders;
    throw providerErrorFromResponse(args.provider, response.status, raw ?? (response.headers as Headers), errorBody);
  }
  return { response, requestId: response.headers.get(args.requestIdHeader) ?? undefined };
}

export function badResponse(provider: string, message: string, requestId?: string, cause?: unknown, body?: unknown): ProviderError {
  return new ProviderError({
    code: 'provider_bad_response',
    provider,
    message: `Provider "${provider}" sent a response we could not understand: ${message}`,
    requestId,
    cause,
    providerBody: body,
  });
}

/**
 * A stream whose body ended before the provider's closing event (`[DONE]`, `message_stop`, a
 * finish reason): the connection was cut, so the answer is incomplete even though no byte was
 * malformed. Retryable, like any other broken connection; past the first byte the caller ends the
 * client's stream with an error event instead of a clean end.
 */
export function streamCutOff(provider: string, requestId?: string): ProviderError {
  return new ProviderError({
    code: 'provider_network_error',
    provider,
    message: `Provider "${provider}" ended the stream before its final event; the answer is incomplete.`,
    retryable: true,
    requestId,
  });
}

/** Reads and validates a JSON body. Leading blank lines (DeepSeek keep-alives) are valid JSON whitespace. */
export async function readJson<T extends z.ZodType>(
  provider: string,
  result: PostJsonResult,
  schema: T,
  abortSignal?: AbortSignal,
): Promise<z.output<T>> {
  let text: string;
  try {
    text = await result.response.text();
  } catch (error) {
    throw providerErrorFromFetchFailure(provider, error, abortSignal);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw badResponse(provider, 'the body is not JSON.', result.requestId, error, text.slice(0, 500));
  }
  return parseWith(provider, schema, json, result.requestId);
}

export function parseWith<T extends z.ZodType>(provider: string, schema: T, json: unknown, requestId?: string): z.output<T> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw badResponse(provider, `${issue?.message ?? 'invalid shape'}${where}.`, requestId, parsed.error, json);
  }
  return parsed.data;
}

/** Parses one SSE data payload as JSON; a malformed payload is a bad response, not a crash. */
export function parseEventJson(provider: string, data: string, requestId?: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch (error) {
    throw badResponse(provider, 'a stream event is not JSON.', requestId, error, data.slice(0, 500));
  }
}

/** Wraps an async iterator so that body read failures (connection reset mid-stream) become ProviderErrors. */
export async function* guardStream<T>(provider: string, source: AsyncIterable<T>, abortSignal?: AbortSignal): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    throw providerErrorFromFetchFailure(provider, error, abortSignal);
  }
}
