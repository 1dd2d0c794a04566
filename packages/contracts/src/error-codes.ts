/**
 * Every error code Quire returns, with its HTTP status. One table, so a code never answers with two
 * different statuses on two services. The `type` follows OpenAI's error shape so OpenAI clients
 * render our errors well.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  invalid_json: { status: 400, type: 'invalid_request_error' },
  forbidden_field: { status: 400, type: 'invalid_request_error' },
  unauthenticated: { status: 401, type: 'authentication_error' },
  invalid_identity: { status: 401, type: 'authentication_error' },
  permission_denied: { status: 403, type: 'permission_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  collection_not_found: { status: 404, type: 'invalid_request_error' },
  document_not_found: { status: 404, type: 'invalid_request_error' },
  query_not_found: { status: 404, type: 'invalid_request_error' },
  model_not_found: { status: 404, type: 'invalid_request_error' },
  // A request names a model the gateway does not serve (e.g. a benchmark configuration's): refused up front.
  unknown_model: { status: 400, type: 'invalid_request_error' },
  // A PATCH names a setting fixed by the collection's index (embedding model, dimensions, chunking): it changes through a new index version.
  reindex_required: { status: 400, type: 'invalid_request_error' },
  conflict: { status: 409, type: 'invalid_request_error' },
  payload_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  no_embedding_model: { status: 422, type: 'invalid_request_error' },
  no_generation_model: { status: 422, type: 'invalid_request_error' },
  model_capability_unsupported: { status: 422, type: 'invalid_request_error' },
  provider_not_configured: { status: 503, type: 'provider_not_configured' },
  provider_bad_request: { status: 400, type: 'invalid_request_error' },
  provider_auth_failed: { status: 502, type: 'upstream_error' },
  provider_permission_denied: { status: 502, type: 'upstream_error' },
  provider_model_not_found: { status: 404, type: 'invalid_request_error' },
  provider_timeout: { status: 504, type: 'upstream_error' },
  provider_conflict: { status: 502, type: 'upstream_error' },
  provider_rate_limited: { status: 429, type: 'rate_limit_error' },
  provider_quota_exceeded: { status: 429, type: 'insufficient_quota' },
  provider_overloaded: { status: 503, type: 'upstream_error' },
  provider_server_error: { status: 502, type: 'upstream_error' },
  provider_network_error: { status: 502, type: 'upstream_error' },
  provider_bad_response: { status: 502, type: 'upstream_error' },
  service_unavailable: { status: 503, type: 'server_error' },
  // Ingestion holds uploads in memory: the process's budget for them is taken (QUIRE_INGEST_UPLOAD_MEMORY_MB); retry after `retry-after`.
  uploads_busy: { status: 503, type: 'server_error' },
  internal_error: { status: 500, type: 'server_error' },
  // Governance (API keys, permissions, budgets, rate limits).
  invalid_api_key: { status: 401, type: 'authentication_error' },
  api_key_revoked: { status: 401, type: 'authentication_error' },
  api_key_expired: { status: 401, type: 'authentication_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  collection_write_denied: { status: 403, type: 'permission_error' },
  role_not_allowed: { status: 403, type: 'permission_error' },
  budget_exceeded: { status: 402, type: 'insufficient_quota' },
  // A caller under a budget asked for a model (or a route to one) without a price: its cost could not be counted, so it is refused.
  model_unpriced: { status: 403, type: 'permission_error' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error' },
  team_not_found: { status: 404, type: 'invalid_request_error' },
  key_not_found: { status: 404, type: 'invalid_request_error' },
  budget_not_found: { status: 404, type: 'invalid_request_error' },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}
