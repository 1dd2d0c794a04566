import { z } from 'zod';
import type { CallOptionsV1 } from '../../spec/call-options.js';
import { joinURL, mergeHeaders, postJson, type FetchFunction, type PostJsonResult } from './http.js';

/** Settings every bearer-key HTTP provider takes (Cohere, Jina, Voyage): name, base URL, key, headers, fetch. */
export function httpProviderSettingsSchema(defaultName: string, defaultBaseURL: string) {
  return z.object({
    name: z.string().min(1).default(defaultName),
    baseURL: z.string().url().default(defaultBaseURL),
    apiKey: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    fetch: z.custom<FetchFunction>((value) => typeof value === 'function').optional(),
  });
}

/** What a provider's models need to call it: parsed once in `createX`, shared by its models. */
export interface HttpProviderConfig {
  provider: string;
  baseURL: string;
  fetch?: FetchFunction;
  headers(callHeaders?: Record<string, string>): Record<string, string>;
}

/** Call headers override the configured ones; the API key always wins as `authorization: Bearer`. */
export function createHttpProviderConfig(parsed: {
  name: string;
  baseURL: string;
  apiKey?: string;
  headers?: Record<string, string>;
  fetch?: FetchFunction;
}): HttpProviderConfig {
  return {
    provider: parsed.name,
    baseURL: parsed.baseURL,
    fetch: parsed.fetch,
    headers: (callHeaders) => mergeHeaders(parsed.headers, callHeaders, parsed.apiKey ? { authorization: `Bearer ${parsed.apiKey}` } : undefined),
  };
}

/**
 * POSTs `body` to `path` under the provider's base URL with its headers, fetch and the call's abort
 * signal. `mapError` lets a provider re-read its own HTTP error bodies (Jina's and Voyage's `detail`).
 */
export async function postToProvider(
  config: HttpProviderConfig,
  path: string,
  body: unknown,
  call: CallOptionsV1,
  mapError?: (provider: string, error: unknown) => unknown,
): Promise<PostJsonResult> {
  try {
    return await postJson({
      provider: config.provider,
      url: joinURL(config.baseURL, path),
      headers: config.headers(call.headers),
      body,
      fetch: config.fetch,
      abortSignal: call.abortSignal,
      requestIdHeader: 'x-request-id',
    });
  } catch (error) {
    throw mapError ? mapError(config.provider, error) : error;
  }
}
