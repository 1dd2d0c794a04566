import { EGRESS_REFUSED } from '../net/guarded-lookup.js';
import { ACCOUNT_CODES, CODE_TEXT, MAX_RETRY_AFTER_MS, ProviderError, type ProviderErrorCode } from './provider-error.js';

export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

// The cap lives with ProviderError, which derives its capped wait from the hint; kept importable here.
export { MAX_RETRY_AFTER_MS };

export function getHeader(headers: HeadersLike | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === lower) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/**
 * Reads `retry-after-ms` (OpenAI/Azure, non-standard), then `retry-after` (seconds or HTTP date), as
 * sent: undefined only for missing, invalid or negative values. A long hint is kept, since "not for
 * an hour" is worth knowing even when nobody should sleep that long (see parseRetryAfterMs).
 */
export function parseRetryAfterHintMs(headers: HeadersLike | undefined, now: number = Date.now()): number | undefined {
  const ms = getHeader(headers, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  }
  const after = getHeader(headers, 'retry-after');
  if (after === undefined || after.trim() === '') return undefined;
  const trimmed = after.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The hint as a wait to honour in process: undefined over MAX_RETRY_AFTER_MS as well, so callers
 * that simply sleep fall back to their own backoff.
 */
export function parseRetryAfterMs(headers: HeadersLike | undefined, now: number = Date.now()): number | undefined {
  const value = parseRetryAfterHintMs(headers, now);
  return value !== undefined && value <= MAX_RETRY_AFTER_MS ? value : undefined;
}

interface ErrorDetails {
  message?: string;
  type?: string;
  code?: string;
  /** `code` and `param` when sent as strings: OpenAI's own fields, passed on for a request's faults (ProviderError checks them). */
  openAICode?: string;
  openAIParam?: string;
  requestId?: string;
  spendLimit?: boolean;
}

const stringOf = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

function str(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Understands the OpenAI envelope, Anthropic's, the flat `{message}` shape (vLLM, Mistral, Cohere) and `{error: "text"}` (Ollama). */
function extractDetails(body: unknown): ErrorDetails {
  if (typeof body === 'string') return { message: body.trim().slice(0, 500) || undefined };
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const requestId = str(record.request_id);
  const error = record.error;
  if (typeof error === 'string') return { message: error, requestId };
  if (typeof error === 'object' && error !== null) {
    const e = error as Record<string, unknown>;
    const details = e.details as Record<string, unknown> | undefined;
    return {
      message: str(e.message),
      type: str(e.type),
      code: str(e.code),
      openAICode: stringOf(e.code),
      openAIParam: stringOf(e.param),
      requestId,
      spendLimit: details?.error_code === 'enforced_spend_limit_reached',
    };
  }
  return { message: str(record.message), type: str(record.type), code: str(record.code), openAICode: stringOf(record.code), openAIParam: stringOf(record.param), requestId };
}

const STATUS_CODES: Record<number, [ProviderErrorCode, boolean]> = {
  400: ['provider_bad_request', false],
  413: ['provider_bad_request', false],
  422: ['provider_bad_request', false],
  401: ['provider_auth_failed', false],
  402: ['provider_quota_exceeded', false],
  403: ['provider_permission_denied', false],
  404: ['provider_model_not_found', false],
  408: ['provider_timeout', true],
  504: ['provider_timeout', true],
  409: ['provider_conflict', true],
  // Hugging Face TEI: "backend: inference failed", the server's fault, not the request's.
  424: ['provider_server_error', true],
  429: ['provider_rate_limited', true],
  503: ['provider_overloaded', true],
  529: ['provider_overloaded', true],
};

function classify(status: number, details: ErrorDetails): [ProviderErrorCode, boolean] {
  const isQuota =
    status === 402 ||
    details.code === 'insufficient_quota' ||
    details.type === 'insufficient_quota' ||
    details.type === 'billing_error' ||
    details.spendLimit === true;
  if (isQuota && (status === 429 || status === 402 || status === 400 || status === 403)) {
    return ['provider_quota_exceeded', false];
  }
  const known = STATUS_CODES[status];
  if (known) return known;
  if (status >= 500) return ['provider_server_error', true];
  if (status >= 400) return ['provider_bad_request', false];
  return ['provider_bad_response', false];
}



/** The longest provider text passed on to callers (a validation message rarely needs more). */
const PUBLIC_DETAIL_MAX = 300;

/**
 * Maps an HTTP error response to a ProviderError. `body` is the parsed JSON when it was JSON,
 * otherwise the raw text. `x-should-retry` (sent by OpenAI and Anthropic) overrides our guess,
 * except that quota errors stay non-retryable.
 */
export function providerErrorFromResponse(
  provider: string,
  status: number,
  headers: HeadersLike | undefined,
  body: unknown,
): ProviderError {
  const details = extractDetails(body);
  let [code, retryable] = classify(status, details);
  const shouldRetry = getHeader(headers, 'x-should-retry');
  if (code !== 'provider_quota_exceeded') {
    if (shouldRetry === 'true') retryable = true;
    if (shouldRetry === 'false') retryable = false;
  }
  const requestId = getHeader(headers, 'x-request-id') ?? getHeader(headers, 'request-id') ?? details.requestId;
  const tag = [details.type, details.code].filter((v, i, all) => v !== undefined && all.indexOf(v) === i).join('/');
  const said = details.message ? `: ${details.message}` : '.';
  const head = `Provider "${provider}" ${CODE_TEXT[code]} (HTTP ${status}${tag ? `, ${tag}` : ''})`;
  const message = `${head}${said}`;
  const publicMessage = ACCOUNT_CODES.has(code) ? `${head}.` : details.message && details.message.length > PUBLIC_DETAIL_MAX ? `${head}: ${details.message.slice(0, PUBLIC_DETAIL_MAX - 1)}…` : message;
  return new ProviderError({
    code,
    provider,
    message,
    status,
    retryable,
    retryAfterHintMs: retryable ? parseRetryAfterHintMs(headers) : undefined,
    requestId,
    providerBody: body,
    publicMessage,
    providerCode: details.openAICode,
    providerParam: details.openAIParam,
  });
}

/**
 * Turns a fetch failure into a ProviderError. A caller's own abort is rethrown untouched: it is not a
 * provider failure and must not be retried.
 */
export function providerErrorFromFetchFailure(provider: string, error: unknown, abortSignal?: AbortSignal): unknown {
  if (ProviderError.is(error)) return error;
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError') {
    return new ProviderError({ code: 'provider_timeout', provider, message: `Provider "${provider}" timed out.`, retryable: true, cause: error });
  }
  if (abortSignal?.aborted || name === 'AbortError') return error;
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code === EGRESS_REFUSED) {
    // The provider's settings do not allow the address its host resolved to: a setting to change, not a fault to retry.
    return new ProviderError({ code: 'provider_not_configured', provider, message: `Provider "${provider}" was not called: ${cause.message ?? 'its address is not allowed'}`, retryable: false, cause: error });
  }
  const reason = cause?.code ?? cause?.message ?? (error as Error | null)?.message ?? String(error);
  return new ProviderError({
    code: 'provider_network_error',
    provider,
    message: `Provider "${provider}" could not be reached (${reason}).`,
    retryable: true,
    cause: error,
  });
}
