/**
 * One error type for every provider failure, so retry and fallback read flags instead of parsing
 * messages. `code` is stable and documented; `status` is the provider's HTTP status (0 for network).
 */
export type ProviderErrorCode =
  | 'provider_bad_request' // 400, 413, 422
  | 'provider_auth_failed' // 401
  | 'provider_permission_denied' // 403
  | 'provider_model_not_found' // 404
  | 'provider_timeout' // 408, 504, our own timeouts
  | 'provider_conflict' // 409
  | 'provider_rate_limited' // 429 (retryable)
  | 'provider_quota_exceeded' // 429/402 billing variants (not retryable)
  | 'provider_overloaded' // 503, 529
  | 'provider_server_error' // other 5xx
  | 'provider_network_error' // connection refused/reset, DNS
  | 'provider_bad_response' // a body we could not understand
  | 'provider_not_configured'; // no key/base URL for this provider

/** What each code says, in the provider's name: `Provider "x" <text>`. */
export const CODE_TEXT: Record<ProviderErrorCode, string> = {
  provider_bad_request: 'rejected the request as invalid',
  provider_auth_failed: 'rejected the API key',
  provider_permission_denied: 'denied permission',
  provider_model_not_found: 'could not find the model or route',
  provider_timeout: 'timed out',
  provider_conflict: 'reported a conflict',
  provider_rate_limited: 'rate-limited the request',
  provider_quota_exceeded: 'reported that the quota or billing limit is exhausted',
  provider_overloaded: 'is overloaded',
  provider_server_error: 'had an internal error',
  provider_network_error: 'could not be reached',
  provider_bad_response: 'sent a response we could not understand',
  provider_not_configured: 'is not configured',
};

/**
 * Errors about the operator's account rather than the request: their text names the organisation,
 * its limits and spend, or a masked key (OpenAI's 401 shows the key's first and last characters).
 * Callers get the code's own words; the log keeps the provider's.
 */
export const ACCOUNT_CODES: ReadonlySet<ProviderErrorCode> = new Set(['provider_auth_failed', 'provider_permission_denied', 'provider_quota_exceeded', 'provider_rate_limited']);

/**
 * The statuses of a request's own faults (bad request, no such model or route, too large, unprocessable).
 * Only these pass the provider's OpenAI-style `code` and `param` on (see ProviderError.providerCode).
 */
export const REQUEST_FAULT_STATUSES: ReadonlySet<number> = new Set([400, 404, 413, 422]);

/** An OpenAI-style error code is a short token with a letter in it (`context_length_exceeded`); a number is an HTTP status echoed back (vLLM, Gemini). */
const PROVIDER_CODE = /^(?=.*[a-z])[a-z0-9_.-]{1,64}$/i;
/** An OpenAI-style `param` is a short path into the request (`messages`, `messages[0].content`, `tools.0.function.name`). */
const PROVIDER_PARAM = /^[\w.[\]-]{1,128}$/;

/** SDKs cap server-suggested waits at 60 s; a longer hint is more likely a bug than a plan. */
export const MAX_RETRY_AFTER_MS = 60_000;

export interface ProviderErrorArgs {
  code: ProviderErrorCode;
  provider: string;
  message: string;
  status?: number;
  retryable?: boolean;
  /**
   * The provider's wait hint as sent, however long. The only retry field taken: the capped
   * `retryAfterMs` is derived from it, so the two cannot disagree however an error is rebuilt.
   */
  retryAfterHintMs?: number;
  requestId?: string;
  providerBody?: unknown;
  /**
   * What a caller of the gateway may read, when it differs from `message` (which logs keep whole): the
   * provider's own words can name the operator's account, organisation, limits or a masked key.
   * Left out, it is `message`, except for the account codes (ACCOUNT_CODES), which get the code's own
   * words: an adapter that forgets to say it cannot pass an account's details on.
   */
  publicMessage?: string;
  /**
   * The provider's own OpenAI-style error `code` and `param`, as read from its body. Kept only where
   * they are the request's business (see ProviderError.providerCode); dropped otherwise, whoever builds the error.
   */
  providerCode?: string;
  providerParam?: string;
  cause?: unknown;
}

const BRAND = Symbol.for('quire.ProviderError');

export class ProviderError extends Error {
  readonly [BRAND] = true;
  readonly code: ProviderErrorCode;
  readonly provider: string;
  readonly status: number;
  readonly retryable: boolean;
  /**
   * The hint as the provider sent it, however long. A caller that can go elsewhere reads it as "not
   * this target for now" rather than sleeping on it, and passes it on to its own client.
   */
  readonly retryAfterHintMs: number | undefined;
  readonly requestId: string | undefined;
  /** The provider's own error body, for logs; never forwarded verbatim to callers. */
  readonly providerBody: unknown;
  /** The message for the gateway's callers (see ProviderErrorArgs.publicMessage); `message` when none differs. */
  readonly publicMessage: string;
  /**
   * The provider's OpenAI-style `code` (`context_length_exceeded`, `string_above_max_length`) and
   * `param` (`messages`), which clients branch on, for a request's own fault: a status in
   * REQUEST_FAULT_STATUSES under a code that is not about the operator's account (ACCOUNT_CODES).
   * Undefined otherwise, and for anything that does not look like a code or a path.
   */
  readonly providerCode: string | undefined;
  readonly providerParam: string | undefined;

  constructor(args: ProviderErrorArgs) {
    super(args.message, { cause: args.cause });
    this.name = 'ProviderError';
    this.code = args.code;
    this.provider = args.provider;
    this.status = args.status ?? 0;
    this.retryable = args.retryable ?? false;
    this.retryAfterHintMs = args.retryAfterHintMs;
    this.requestId = args.requestId;
    this.providerBody = args.providerBody;
    this.publicMessage = args.publicMessage ?? (ACCOUNT_CODES.has(args.code) ? `Provider "${args.provider}" ${CODE_TEXT[args.code]}.` : args.message);
    const requestFault = REQUEST_FAULT_STATUSES.has(this.status) && !ACCOUNT_CODES.has(args.code);
    this.providerCode = requestFault && args.providerCode !== undefined && PROVIDER_CODE.test(args.providerCode) ? args.providerCode : undefined;
    this.providerParam = requestFault && args.providerParam !== undefined && PROVIDER_PARAM.test(args.providerParam) ? args.providerParam : undefined;
  }

  /** The provider's wait hint when it is short enough to wait for in process (MAX_RETRY_AFTER_MS); sleepers read this. */
  get retryAfterMs(): number | undefined {
    const hint = this.retryAfterHintMs;
    return hint !== undefined && hint <= MAX_RETRY_AFTER_MS ? hint : undefined;
  }

  /**
   * A copy with `changes` applied and everything else (retry hint, request id, body, cause) carried
   * over, for adapters that re-read an error: copying fields by hand is how one gets dropped.
   */
  withChanges(changes: Partial<ProviderErrorArgs>): ProviderError {
    return new ProviderError({
      code: this.code,
      provider: this.provider,
      message: this.message,
      status: this.status,
      retryable: this.retryable,
      retryAfterHintMs: this.retryAfterHintMs,
      requestId: this.requestId,
      providerBody: this.providerBody,
      providerCode: this.providerCode,
      providerParam: this.providerParam,
      // A new message makes the old public one stale, unless the change gives its own.
      ...(changes.message === undefined && this.publicMessage !== this.message ? { publicMessage: this.publicMessage } : {}),
      cause: this.cause,
      ...changes,
    });
  }

  static is(error: unknown): error is ProviderError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
  }
}
