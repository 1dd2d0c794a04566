import { AppError } from '@quire/server-kit';

/**
 * Fields that would let a caller redirect a model call or inject credentials. Providers' hosts and
 * keys come only from the gateway's own settings, so a body carrying any of these is refused.
 */
const FORBIDDEN = new Set(['api_base', 'base_url', 'baseurl', 'api_key', 'apikey', 'headers', 'extra_headers', 'extra_body', 'api_version', 'endpoint', 'proxy']);

/**
 * Walks the body once with one shared trail (pushed and popped), so a clean request allocates
 * nothing; the dotted path is only built for the error.
 */
export function assertNoForbiddenFields(value: unknown): void {
  walk(value, [], 0, false);
}

function walk(value: unknown, trail: string[], depth: number, inToolSchema: boolean): void {
  if (depth > 32 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      trail.push(String(i));
      walk(value[i], trail, depth + 1, inToolSchema);
      trail.pop();
    }
    return;
  }
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    // A tool's JSON schema may name its own properties anything, `headers` included.
    if (!inToolSchema && FORBIDDEN.has(key.toLowerCase())) {
      const param = [...trail, key].join('.');
      throw new AppError('forbidden_field', `The field "${param}" is not accepted: provider hosts, keys and headers are set by the gateway's configuration, not by requests.`, { param });
    }
    // `metadata` is the caller's own tags (OpenAI's free-form string map, echoed back, never a setting):
    // its keys are data, like a tool schema's property names.
    if (depth === 0 && key === 'metadata') continue;
    trail.push(key);
    walk((value as Record<string, unknown>)[key], trail, depth + 1, inToolSchema || key === 'parameters' || key === 'schema');
    trail.pop();
  }
}
