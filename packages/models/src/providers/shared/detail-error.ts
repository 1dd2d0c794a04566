import { ProviderError } from '../../errors/provider-error.js';
import { providerErrorFromResponse } from '../../errors/provider-error-from-response.js';

/** FastAPI-style bodies: `{"detail": "text"}`, or a list of `{msg}` for validation errors. */
function detailText(body: unknown): string | undefined {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) return detail.map((d) => (typeof d === 'object' && d !== null ? String((d as { msg?: unknown }).msg ?? '') : String(d))).join('; ');
  return undefined;
}

/**
 * Re-reads an HTTP error from the shared layer so its message carries a FastAPI `detail` text (Jina,
 * Voyage). Status, retryability, retry-after and request id are kept; other errors pass through.
 */
export function withDetailMessage(provider: string, error: unknown): unknown {
  if (!ProviderError.is(error) || error.status === 0) return error;
  const detail = detailText(error.providerBody);
  if (detail === undefined) return error;
  const mapped = providerErrorFromResponse(provider, error.status, {}, { message: detail });
  return error.withChanges({ code: mapped.code, provider, message: mapped.message, publicMessage: mapped.publicMessage });
}
