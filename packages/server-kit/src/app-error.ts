import { ERROR_CODES, type ErrorCode } from '@quire/contracts';

const BRAND = Symbol.for('quire.AppError');

/** The one error type services throw; its code decides the HTTP status (see ERROR_CODES). */
export class AppError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly param: string | undefined;
  /**
   * Extra machine-readable facts (e.g. which budget refused). Never in a response, whatever the
   * status: toErrorResponse leaves them out (`exposed` is for what the client should see). They
   * reach the gateway's audit log with its refusals, and code in the same process that reads the
   * error (the gateway's model API reads `provider_code`).
   */
  readonly details: Record<string, unknown> | undefined;
  /**
   * Machine-readable facts meant for the client, rendered beside `error` in the body (e.g. the
   * document to retry instead, the files an upload refused). An explicit opt-in, unlike `details`:
   * only what is safe to show the caller goes here. Rendered on 4xx answers only; a 5xx never shows
   * them. A field named `error` is never rendered (the body's own).
   */
  readonly exposed: Readonly<Record<string, unknown>> | undefined;
  /**
   * Response headers that belong to this refusal (`retry-after`, `x-ratelimit-*`); lower-case names.
   * They go out with the error body wherever it is answered (see toErrorResponse), so a throw site
   * never needs the response object.
   */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { param?: string; details?: Record<string, unknown>; exposed?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.param = options.param;
    this.details = options.details;
    this.exposed = options.exposed;
    this.headers = options.headers;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  static is(error: unknown): error is AppError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
  }
}

/**
 * A provider's wait hint as the client's `Retry-After` (whole seconds, rounded up so the client never
 * comes back early), only on the statuses the header means something on (RFC 9110 §10.2.3 for 503,
 * RFC 6585 for 429). Without a hint nothing is invented.
 */
export function retryAfterHeaders(retryAfterMs: number | undefined, code: ErrorCode): { 'retry-after': string } | undefined {
  const status = ERROR_CODES[code].status;
  if (retryAfterMs === undefined || (status !== 429 && status !== 503)) return undefined;
  return { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) };
}
