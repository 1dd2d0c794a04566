import type { z } from 'zod';
import { AppError, parseWith } from '@quire/server-kit';

/**
 * Parses a query string or JSON body with its strict schema, refusing a key the schema does not name
 * with a 400 that names it (`param`) and says which keys are taken: zod reports unknown keys at the
 * object itself, so `parseWith` alone would answer with no `param`. Anything else as `parseWith`.
 */
export function parseStrict<S extends z.ZodObject>(schema: S, value: unknown, what: 'query' | 'request body'): z.infer<S> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const known = Object.keys(schema.shape);
    const unknown = Object.keys(value).filter((key) => !known.includes(key));
    if (unknown.length > 0) {
      const noun = what === 'query' ? 'query parameter' : 'field';
      const named = unknown.map((key) => `'${key}'`).join(', ');
      throw new AppError('invalid_request', `Unknown ${noun}${unknown.length > 1 ? 's' : ''} ${named}; ${what === 'query' ? 'this list takes' : 'the body takes'} ${known.join(', ')}.`, { param: unknown[0]! });
    }
  }
  return parseWith(schema, value, what);
}
