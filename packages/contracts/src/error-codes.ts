import { z } from 'zod';

/**
 * Every error code Quire returns, with its HTTP status. One table, so a code never answers with two
 * different statuses on two services. The `type` follows OpenAI's error shape so OpenAI clients
 * render our errors well.
 *
 * `retryable`: whether a service that got this code back from a call (the gateway client, ingestion's
 * job retries) should make the same call again itself, after a backoff or the answer's `retry-after`,
 * with a fair chance that it then succeeds. The one place that decides it; the status alone does not
 * (a 409 or a 429 can go either way). Providers' HTTP statuses map to these codes, with the same flags,
 * in @quire/models' providerErrorFromResponse.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, type: 'invalid_request_error', retryable: false },
  invalid_json: { status: 400, type: 'invalid_request_error', retryable: false },
  forbidden_field: { status: 400, type: 'invalid_request_error', retryable: false },
  unauthenticated: { status: 401, type: 'authentication_error', retryable: false },
  invalid_identity: { status: 401, type: 'authentication_error', retryable: false },
  permission_denied: { status: 403, type: 'permission_error', retryable: false },
  not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  collection_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  document_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  query_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  model_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  // A request names a model the gateway does not serve (e.g. a benchmark configuration's): refused up front.
  unknown_model: { status: 400, type: 'invalid_request_error', retryable: false },
  // A PATCH names a setting fixed by the collection's index (embedding model, dimensions, chunking): it changes through a new index version.
  reindex_required: { status: 400, type: 'invalid_request_error', retryable: false },
  // Quire's own 409 (a team that already exists, a version not ready): the state that refused it does not change by waiting.
  conflict: { status: 409, type: 'invalid_request_error', retryable: false },
  // POST /v1/benchmarks/:id/resume on a run that is under way, has nothing left to run, would stop at its budget at once, or would see other documents (`reason` says which).
  benchmark_not_resumable: { status: 409, type: 'invalid_request_error', retryable: false },
  payload_too_large: { status: 413, type: 'invalid_request_error', retryable: false },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', retryable: false },
  no_embedding_model: { status: 422, type: 'invalid_request_error', retryable: false },
  no_generation_model: { status: 422, type: 'invalid_request_error', retryable: false },
  model_capability_unsupported: { status: 422, type: 'invalid_request_error', retryable: false },
  // A 503, but a setting to change (no key or base URL, an address not allowed), not a fault that passes.
  provider_not_configured: { status: 503, type: 'provider_not_configured', retryable: false },
  provider_bad_request: { status: 400, type: 'invalid_request_error', retryable: false },
  provider_auth_failed: { status: 502, type: 'upstream_error', retryable: false },
  provider_permission_denied: { status: 502, type: 'upstream_error', retryable: false },
  provider_model_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  provider_timeout: { status: 504, type: 'upstream_error', retryable: true },
  // A provider's 409 is a concurrent request or a lock it held at the time: passes on a later try (OpenAI's and Anthropic's SDKs retry it too).
  provider_conflict: { status: 502, type: 'upstream_error', retryable: true },
  provider_rate_limited: { status: 429, type: 'rate_limit_error', retryable: true },
  // A 429, but billing: the account's credit or spend limit stays exhausted until someone acts.
  provider_quota_exceeded: { status: 429, type: 'insufficient_quota', retryable: false },
  provider_overloaded: { status: 503, type: 'upstream_error', retryable: true },
  provider_server_error: { status: 502, type: 'upstream_error', retryable: true },
  provider_network_error: { status: 502, type: 'upstream_error', retryable: true },
  // A response Quire cannot read comes from a server that does not speak the expected API: the same again next time.
  provider_bad_response: { status: 502, type: 'upstream_error', retryable: false },
  service_unavailable: { status: 503, type: 'server_error', retryable: true },
  // Ingestion holds uploads in memory: the process's budget for them is taken (QUIRE_INGEST_UPLOAD_MEMORY_MB); retry after `retry-after`.
  uploads_busy: { status: 503, type: 'server_error', retryable: true },
  // Unexpected, so as likely a blip (a dropped database connection) as a bug; a few bounded retries cost little, and a bug fails them all.
  internal_error: { status: 500, type: 'server_error', retryable: true },
  // Governance (API keys, permissions, budgets, rate limits).
  invalid_api_key: { status: 401, type: 'authentication_error', retryable: false },
  api_key_revoked: { status: 401, type: 'authentication_error', retryable: false },
  api_key_expired: { status: 401, type: 'authentication_error', retryable: false },
  model_not_allowed: { status: 403, type: 'permission_error', retryable: false },
  collection_write_denied: { status: 403, type: 'permission_error', retryable: false },
  role_not_allowed: { status: 403, type: 'permission_error', retryable: false },
  budget_exceeded: { status: 402, type: 'insufficient_quota', retryable: false },
  // A caller under a budget asked for a model (or a route to one) without a price: its cost could not be counted, so it is refused.
  model_unpriced: { status: 403, type: 'permission_error', retryable: false },
  // Quire's own per-key/team limit refuses the end caller, who gets it with `retry-after`: a service retrying for them would hide it. Ingestion's embedding calls are exempt.
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', retryable: false },
  team_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  key_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  budget_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
} as const satisfies Record<string, { status: number; type: string; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/**
 * The codes only a failed document carries (its `error.code`), each set by ingestion where the
 * failure is known. A document can also fail with the ErrorCode of the call that failed it (e.g.
 * `provider_timeout` after the last attempt): see DocumentErrorCode.
 */
export const DocumentFailureCodeSchema = z.enum([
  // Parsing: the file could not be read (`parse_failed`), is encrypted, or has more text than `maxExtractedChars`.
  'parse_failed',
  'password_protected',
  'too_much_text',
  // Parsed, but no text at all (e.g. a scanned PDF without a text layer).
  'no_text_extracted',
  // Chunking failed, or ran past its deadline or its worker's heap limit.
  'chunking_failed',
  'chunk_timeout',
  'chunk_out_of_memory',
  // Embedding: an unexpected failure, vectors that are not finite or not one per text, or of the wrong length for the index.
  'embedding_failed',
  'embedding_invalid',
  'dimension_mismatch',
  'indexing_failed',
  // An unexpected failure outside the stages above.
  'ingestion_failed',
  // Abandoned by its worker on its last attempt (the reconciler gave up on it).
  'stalled',
  // A replacement upload that a newer replacement of the same document followed before it finished.
  'superseded',
]);
export type DocumentFailureCode = z.infer<typeof DocumentFailureCodeSchema>;

/** What a failed document's `error.code` holds: one of ingestion's own codes, or the code of the call that failed it. */
export type DocumentErrorCode = DocumentFailureCode | ErrorCode;

/**
 * What a failed document's error tells a person (its `retryable` and `action`), derived from the
 * stored code and never stored itself.
 *
 * `retryable`: whether `POST /v1/documents/{id}/retry` can make the same stored bytes succeed, at
 * once or after the fix `action` names. Not ERROR_CODES' flag, which says whether a *service* should
 * repeat a call by itself: a key that is not configured is no reason for a service to call again,
 * but once a person sets it, a retry of the document succeeds. False only where the file itself
 * failed under the current limits (unreadable, no text, too large): the same bytes fail the same
 * way, so the retry route refuses them (409) and `action` says what to upload instead.
 *
 * `action`: one sentence for the person who reads it; `{id}` is the failed row (the one to retry),
 * `{document_id}` the document a new version goes to (a replacement's target, else the same id).
 */
export interface DocumentFailureAdvice {
  retryable: boolean;
  action: string;
}

const RETRY = 'POST /v1/documents/{id}/retry';
const PUT = 'PUT /v1/documents/{document_id}';

/** Each DocumentFailureCode's advice: whether the cause is the file's, or time's or configuration's. */
const DOCUMENT_FAILURE_ADVICE = {
  parse_failed: { retryable: false, action: `Upload a readable version of the file (e.g. saved or exported again) with ${PUT}.` },
  password_protected: { retryable: false, action: `Upload a copy saved without the password with ${PUT}.` },
  // The limit failures below say to delete and upload again: their advice for failures from before
  // ingestion recorded the limit (migration 0029). A failure recorded with its limit gets the limit's
  // advice instead (FailedLimitState), which lets a retry through once it is raised.
  too_much_text: { retryable: false, action: `Upload a shorter version (e.g. split into parts) with ${PUT}; to take this file as it is, raise QUIRE_INGEST_MAX_EXTRACTED_CHARS, then delete the document and upload it again.` },
  no_text_extracted: { retryable: false, action: `OCR is not supported yet: upload a version with a text layer (e.g. run OCR on the scan first) with ${PUT}.` },
  // Mostly the file against a limit (QUIRE_INGEST_MAX_CHUNKS) or a chunker failure on this text: the same again on a retry.
  chunking_failed: { retryable: false, action: `Upload another version of the file (e.g. a smaller one) with ${PUT}.` },
  chunk_timeout: { retryable: false, action: `Upload a smaller version with ${PUT}; to take this file as it is, raise QUIRE_INGEST_CHUNK_TIMEOUT_MS, then delete the document and upload it again.` },
  chunk_out_of_memory: { retryable: false, action: `Upload a smaller version with ${PUT}; to take this file as it is, raise QUIRE_INGEST_PARSE_HEAP_MB, then delete the document and upload it again.` },
  embedding_failed: { retryable: true, action: `Retry with ${RETRY}.` },
  embedding_invalid: { retryable: true, action: `The embedding model returned unusable vectors: check the collection's embedding model and its provider on the gateway, then retry with ${RETRY}.` },
  dimension_mismatch: { retryable: true, action: `The embedding model's vectors do not fit the collection's index: check the model the gateway serves under the collection's embedding model name, then retry with ${RETRY}.` },
  indexing_failed: { retryable: true, action: `Retry with ${RETRY}.` },
  ingestion_failed: { retryable: true, action: `Retry with ${RETRY}.` },
  stalled: { retryable: true, action: `Retry with ${RETRY}.` },
  superseded: { retryable: false, action: `A newer replacement followed this one: upload the file again with ${PUT}.` },
} as const satisfies Record<DocumentFailureCode, DocumentFailureAdvice>;

/** What to do about a document that failed with an ErrorCode that a service would not repeat by itself. */
const ERROR_CODE_ACTION: Partial<Record<ErrorCode, string>> = {
  provider_not_configured: `Configure the embedding model's provider on the gateway (its API key, e.g. OPENAI_API_KEY, or its base URL), then retry with ${RETRY}.`,
  provider_auth_failed: `Check the provider's API key on the gateway (e.g. OPENAI_API_KEY), then retry with ${RETRY}.`,
  provider_permission_denied: `Give the provider account access to the embedding model (or change the gateway's key), then retry with ${RETRY}.`,
  provider_quota_exceeded: `Add credit to the provider account or raise its spend limit, then retry with ${RETRY}.`,
  budget_exceeded: `Raise the budget that refused it, or wait for its period to reset, then retry with ${RETRY}.`,
  rate_limit_exceeded: `Retry later with ${RETRY}.`,
  // The key the work acts for (its submitter's) was revoked or has expired since: a retry makes the caller the submitter.
  api_key_revoked: `The key that submitted it was revoked: retry with ${RETRY} using a valid key, which becomes its submitter.`,
  api_key_expired: `The key that submitted it has expired: retry with ${RETRY} using a valid key, which becomes its submitter.`,
};

/**
 * A limit a document failed under, which ingestion records with the failure (whatever its code:
 * `too_much_text`, `chunk_timeout`, or `parse_failed` for too many pages), as the advice needs it.
 */
export interface FailedLimitState {
  /** The setting an operator raises, e.g. `QUIRE_INGEST_MAX_PAGES`. */
  setting: string;
  /** The value it failed under, in the setting's own units. */
  failedUnder: number;
  /** Whether the limit in force now is higher than that. */
  raised: boolean;
}

/**
 * Whether retrying a document that failed with `code` can help, and what a person should do; see
 * DocumentFailureAdvice. With `limit` (the failure was a limit's), the limit decides, whatever the
 * code: the same bytes pass once it is raised above the value they failed under, and not before.
 */
export function documentFailureAdvice(code: string, ids: { id: string; documentId: string }, limit?: FailedLimitState): DocumentFailureAdvice {
  const fill = (action: string) => action.replaceAll('{id}', ids.id).replaceAll('{document_id}', ids.documentId);
  if (limit) {
    return limit.raised
      ? { retryable: true, action: fill(`${limit.setting} is now above the ${limit.failedUnder} this failed under: retry with ${RETRY}.`) }
      : { retryable: false, action: fill(`Upload a smaller version (e.g. split into parts) with ${PUT}; to take this file as it is, raise ${limit.setting} above ${limit.failedUnder}, then retry with ${RETRY}.`) };
  }
  const known = DocumentFailureCodeSchema.safeParse(code);
  if (known.success) {
    const advice = DOCUMENT_FAILURE_ADVICE[known.data];
    return { retryable: advice.retryable, action: fill(advice.action) };
  }
  // The code of the call that failed it (a provider's or the gateway's): the stored bytes are not the
  // cause, so a retry can succeed, at once for a passing fault, or after someone changes a setting.
  if (isErrorCode(code)) {
    const action = ERROR_CODES[code].retryable
      ? `Retry with ${RETRY}; the cause was temporary.`
      : ERROR_CODE_ACTION[code] ?? `Fix what the message names (the gateway's configuration, the collection's models, a permission or a budget), then retry with ${RETRY}.`;
    return { retryable: true, action: fill(action) };
  }
  // A code stored by another release: nothing says the file is the cause.
  return { retryable: true, action: fill(`Retry with ${RETRY}.`) };
}
