import { ProviderError } from '../../errors/provider-error.js';
import { MAX_RETRY_AFTER_MS, providerErrorFromResponse, type HeadersLike } from '../../errors/provider-error-from-response.js';

interface GoogleRpcError {
  code?: unknown;
  message?: unknown;
  status?: unknown;
  details?: unknown;
}

function rpcError(body: unknown): GoogleRpcError | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === 'object' && error !== null ? (error as GoogleRpcError) : undefined;
}

function detailsOf(error: GoogleRpcError): Record<string, unknown>[] {
  return Array.isArray(error.details) ? error.details.filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null) : [];
}

/**
 * RetryInfo's `retryDelay` (a protobuf Duration in JSON: `"53s"`, `"1.5s"`) as sent, however long (a
 * daily quota says hours).
 */
export function parseRetryDelayHintMs(body: unknown): number | undefined {
  const error = rpcError(body);
  if (!error) return undefined;
  for (const detail of detailsOf(error)) {
    if (!String(detail['@type'] ?? '').endsWith('google.rpc.RetryInfo')) continue;
    const match = /^(\d+(?:\.\d+)?)s$/.exec(String(detail.retryDelay ?? '').trim());
    return match ? Math.round(Number(match[1]) * 1000) : undefined;
  }
  return undefined;
}

/** The same as a wait to honour in process: undefined over MAX_RETRY_AFTER_MS. */
export function parseRetryDelayMs(body: unknown): number | undefined {
  const ms = parseRetryDelayHintMs(body);
  return ms !== undefined && ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
}

/**
 * Maps a google.rpc error body (`{error: {code, message, status, details}}`). A bad key comes back as
 * 400 INVALID_ARGUMENT with an ErrorInfo reason `API_KEY_INVALID`, which we report as an auth failure,
 * and the retry hint lives in RetryInfo rather than in headers.
 */
export function geminiErrorFromResponse(provider: string, status: number, headers: HeadersLike | undefined, body: unknown): ProviderError {
  const error = rpcError(body);
  const canonical = typeof error?.status === 'string' ? error.status : undefined;
  const message = typeof error?.message === 'string' ? error.message : undefined;
  const keyInvalid = error ? detailsOf(error).some((d) => d.reason === 'API_KEY_INVALID') : false;
  const base = providerErrorFromResponse(provider, keyInvalid ? 401 : status, headers, error ? { error: { message, type: canonical } } : body);
  const retold = (text: string) => text.replace(`(HTTP ${keyInvalid ? 401 : status}`, `(HTTP ${status}`);
  return base.withChanges({
    message: retold(base.message),
    publicMessage: retold(base.publicMessage),
    status,
    retryAfterHintMs: base.retryable ? (base.retryAfterHintMs ?? parseRetryDelayHintMs(body)) : undefined,
    providerBody: body,
  });
}

/** Re-maps a ProviderError that the shared HTTP layer built from a Gemini error response. */
export function asGeminiError(provider: string, error: unknown): unknown {
  if (!ProviderError.is(error) || error.status === 0) return error;
  return geminiErrorFromResponse(provider, error.status, error.requestId ? { 'x-request-id': error.requestId } : undefined, error.providerBody);
}

/** An `{error}` chunk inside a 200 stream carries its own HTTP code. */
export function geminiStreamError(provider: string, payload: unknown): ProviderError {
  const code = Number(rpcError(payload)?.code);
  return geminiErrorFromResponse(provider, Number.isInteger(code) && code >= 400 ? code : 500, undefined, payload);
}
