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
