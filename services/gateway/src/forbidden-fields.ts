import { AppError } from '@quire/server-kit';

/**
 * Fields that would let a caller redirect a model call or inject credentials. Providers' hosts and
 * keys come only from the gateway's own settings, so a body carrying any of these is refused.
 */
const FORBIDDEN = new Set(['api_base', 'base_url', 'baseurl', 'api_key', 'apikey', 'headers', 'extra_headers', 'extra_body', 'api_version', 'endpoint', 'proxy']);

export function assertNoForbiddenFields(value: unknown, path: string[] = [], depth = 0): void {
  if (depth > 32 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    // Message contents are data, not settings: skip scanning inside messages' text.
    value.forEach((item, i) => assertNoForbiddenFields(item, [...path, String(i)], depth + 1));
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const inToolSchema = path.includes('parameters') || path.includes('schema');
    if (!inToolSchema && FORBIDDEN.has(key.toLowerCase())) {
      const param = [...path, key].join('.');
      throw new AppError('forbidden_field', `The field "${param}" is not accepted: provider hosts, keys and headers are set by the gateway's configuration, not by requests.`, { param });
    }
    assertNoForbiddenFields(child, [...path, key], depth + 1);
  }
}
