import type { z } from 'zod';
import { ProviderError } from '../../errors/provider-error.js';
import { providerErrorFromFetchFailure, providerErrorFromResponse } from '../../errors/provider-error-from-response.js';

export type FetchFunction = typeof fetch;

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
  response: Response;
  requestId: string | undefined;
}

/** Lower-cases header names so later layers override earlier ones regardless of spelling. */
export function mergeHeaders(...layers: (Record<string, string | undefined> | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) if (value !== undefined) out[key.toLowerCase()] = value;
  }
  return out;
}

export function joinURL(baseURL: string, path: string): string {
  return `${baseURL.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

async function readErrorBody(response: Response): Promise<unknown> {
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
  const doFetch = args.fetch ?? globalThis.fetch;
  let response: Response;
  try {
    response = await doFetch(args.url, {
      method: 'POST',
      headers: mergeHeaders({ 'content-type': 'application/json' }, args.headers),
      body: JSON.stringify(args.body),
      signal: args.abortSignal,
    });
  } catch (error) {
    throw providerErrorFromFetchFailure(args.provider, error, args.abortSignal);
  }
  if (!response.ok) {
    const body = await readErrorBody(response);
    throw providerErrorFromResponse(args.provider, response.status, response.headers, body);
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
