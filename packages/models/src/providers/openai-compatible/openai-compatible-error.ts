import { ProviderError } from '../../errors/provider-error.js';
import { providerErrorFromResponse } from '../../errors/provider-error-from-response.js';

/**
 * OpenAI's codes for a request's own fault, sent with or without `type: "invalid_request_error"`:
 * `context_length_exceeded`, `string_above_max_length`, `invalid_value`, `missing_required_parameter`,
 * `unsupported_parameter`, `integer_above_max_value`... A code outside this list and without a type
 * saying so is not taken for the request's fault: a 400 stops retries and fallbacks.
 */
const REQUEST_FAULT_CODE =
  /^(context_length_exceeded|invalid_(?!api_key|authentication|organization|project)[a-z_]+|missing_required_parameter|unknown_parameter|unsupported_(parameter|value)|[a-z]+_(above|below)_(max|min)_[a-z_]+|empty_array|image_parse_error|content_policy_violation)$/;

/**
 * A `{"error": {message, type, param, code}}` payload inside a 200 stream, as OpenAI sends one. There
 * is no status, so one is inferred from the error's type and code (a numeric `code`, as vLLM sends, is
 * the status itself): the account's faults keep their own statuses, so their code, param and words are
 * not passed on (ACCOUNT_CODES); a request's fault, named by its type or by an OpenAI request-fault
 * code alone, is a 400 (404 for `model_not_found`) and passes the provider's code and param on, as a
 * non-stream error does; anything else counts as a server error.
 */
export function openAIStreamError(provider: string, payload: unknown, requestId?: string): ProviderError {
  const record = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
  // The OpenAI envelope, or the flat shape some servers send under `event: error` (read alike by providerErrorFromResponse).
  const fields = typeof record.error === 'object' && record.error !== null ? (record.error as Record<string, unknown>) : 'error' in record ? {} : record;
  const type = typeof fields.type === 'string' ? fields.type : '';
  const code = typeof fields.code === 'string' ? fields.code : '';
  const tag = `${type} ${code}`;
  let status = 500;
  if (typeof fields.code === 'number' && Number.isInteger(fields.code) && fields.code >= 400 && fields.code <= 599) status = fields.code;
  else if (/insufficient_quota/.test(tag)) status = 429;
  else if (/billing/.test(tag)) status = 402;
  else if (/invalid_api_key|authentication/.test(tag)) status = 401;
  else if (/permission|unsupported_country/.test(tag)) status = 403;
  else if (/rate_limit/.test(tag) || type === 'tokens' || type === 'requests') status = 429;
  else if (/overloaded/.test(tag)) status = 503;
  else if (code === 'model_not_found') status = 404;
  else if (/invalid_request|BadRequest/.test(type) || REQUEST_FAULT_CODE.test(code)) status = 400;
  const headers: Record<string, string> = requestId ? { 'x-request-id': requestId } : {};
  return providerErrorFromResponse(provider, status, headers, payload);
}
