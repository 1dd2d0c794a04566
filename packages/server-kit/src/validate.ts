import type { z } from 'zod';
import { AppError } from './app-error.js';
import { describeZodError } from './error-response.js';

/** Parses a boundary value with its schema, or throws a 400 that names the field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const first = result.error.issues[0];
  throw new AppError('invalid_request', `Invalid ${what}: ${describeZodError(result.error)}`, {
    param: first?.path.join('.') || undefined,
  });
}

/**
 * Parses a query string or JSON body with its strict schema, refusing a key the schema does not name
 * with a 400 that names it (`param`) and says which keys are taken: zod reports unknown keys at the
 * object itself, so `parseWith` alone would answer with no `param`, and a schema that is not
 * `.strict()` would drop the key silently (a misspelt filter answering unfiltered data). Anything else
 * as `parseWith`.
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

/** What a malformed path parameter answers, by parameter (called with its raw value): e.g. a route's 404. */
export type ParamErrors<S extends z.ZodObject> = { [K in keyof S['shape'] & string]?: (value: string) => AppError };

/**
 * A request's path parameters (`req.params`), parsed with `schema`. A parameter that fails it
 * answers its entry in `invalid`, or else a 400 naming it. A route that looks an id up passes the
 * 404 a missing row gets: a malformed id is one that does not exist, and answering so says nothing
 * about which ids could. With several bad parameters, the first in the schema's order answers.
 */
export function paramsOf<S extends z.ZodObject>(req: { params: unknown }, schema: S, invalid: ParamErrors<S> = {}): z.infer<S> {
  const result = schema.safeParse(req.params ?? {});
  if (result.success) return result.data;
  const bad = Object.keys(schema.shape).find((key) => result.error.issues.some((issue) => issue.path[0] === key));
  const answer = bad === undefined ? undefined : (invalid as Record<string, ((value: string) => AppError) | undefined>)[bad];
  if (bad !== undefined && answer) {
    const raw = (req.params as Record<string, unknown> | undefined)?.[bad];
    throw answer(typeof raw === 'string' ? raw : String(raw ?? ''));
  }
  throw new AppError('invalid_request', `Invalid path parameter: ${describeZodError(result.error)}`, {
    param: bad ?? (result.error.issues[0]?.path.join('.') || undefined),
  });
}
