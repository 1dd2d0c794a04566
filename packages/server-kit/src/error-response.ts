import { ZodError } from 'zod';
import { ERROR_CODES, type ErrorBody, type ErrorCode } from '@quire/contracts';
import { AppError } from './app-error.js';

export interface ErrorResponse {
  status: number;
  /** The error body, plus an AppError's `exposed` fields beside `error` (4xx only). */
  body: ErrorBody & { [field: string]: unknown };
  /** Headers to send with the body (`retry-after` on a 429/503); empty for most errors. */
  headers: Record<string, string>;
}

/** Turns zod issues into one sentence a person can act on: `top_k: must be at most 100`. */
export function describeZodError(error: ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

function body(code: ErrorCode, message: string, requestId: string, param?: string, headers: Record<string, string> = {}, exposed?: Readonly<Record<string, unknown>>): ErrorResponse {
  const entry = ERROR_CODES[code];
  const error = { type: entry.type, code, message, param: param ?? null, request_id: requestId };
  // `error` first: the gateway reads the code of a long body from its opening bytes (upstream-error.ts).
  const extra = exposed && entry.status < 500 ? Object.fromEntries(Object.entries(exposed).filter(([field]) => field !== 'error')) : {};
  return { status: entry.status, body: { error, ...extra }, headers };
}

/**
 * Maps anything thrown to the public error body and the headers that go with it (an AppError's own,
 * e.g. `retry-after`). Pure, so it is tested without express; express's error middleware and the
 * gateway's node:http model front both answer through it. An AppError's `details` are never in the
 * body (whatever the status), and an internal_error's message is replaced: those stay in the logs.
 * Its `exposed` fields are, beside `error` (as `{"error": {...}, "evidence": {...}}`), on a 4xx only.
 */
export function toErrorResponse(error: unknown, requestId: string): ErrorResponse {
  if (AppError.is(error)) {
    const message = error.status >= 500 && error.code === 'internal_error' ? 'Internal error. Quote the request id when reporting it.' : error.message;
    return body(error.code, message, requestId, error.param, error.headers ? { ...error.headers } : {}, error.exposed);
  }
  if (error instanceof ZodError) {
    const first = error.issues[0];
    return body('invalid_request', `Invalid request: ${describeZodError(error)}`, requestId, first?.path.join('.') || undefined);
  }
  const e = error as { type?: string; status?: number; statusCode?: number };
  // body-parser signals bad JSON and oversized bodies with these types.
  if (e?.type === 'entity.parse.failed') return body('invalid_json', 'The request body is not valid JSON.', requestId);
  if (e?.type === 'entity.too.large') return body('payload_too_large', 'The request body is too large.', requestId);
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return body('unsupported_media_type', 'The request body encoding is not supported.', requestId);
  }
  return body('internal_error', 'Internal error. Quote the request id when reporting it.', requestId);
}
