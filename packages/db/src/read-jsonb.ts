import { z } from 'zod';

/**
 * A json/jsonb value read from the database that is not what its schema says: unparseable text, or
 * a value of another shape (written by an older version, or by hand). `column` names what was read,
 * e.g. `collections.search_settings`.
 */
export class JsonbColumnError extends Error {
  override name = 'JsonbColumnError';
  readonly code = 'invalid_stored_json';
  constructor(
    readonly column: string,
    readonly issues: readonly z.core.$ZodIssue[],
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Stored ${column} is not valid: ${detail}`, options);
  }
}

export type ReadJsonbResult<T> = { success: true; data: T } | { success: false; error: JsonbColumnError };

/**
 * Reads a json/jsonb column through `schema`. Drivers differ: node-postgres and PGlite hand jsonb
 * over parsed, but json built or cast as text arrives as a string, so a string is parsed first and
 * anything else is taken as already parsed (SQL NULL arrives as null: give the schema `.nullable()`
 * where the column may be NULL). A jsonb value that is itself a JSON string is therefore not
 * supported. For a column whose bad value should fall back rather than fail, see `safeReadJsonb`.
 * @throws JsonbColumnError naming `column` when the value does not parse or match.
 */
export function readJsonb<S extends z.ZodType>(schema: S, value: unknown, column: string): z.output<S> {
  const result = safeReadJsonb(schema, value, column);
  if (!result.success) throw result.error;
  return result.data;
}

/** As `readJsonb`, but returns the error instead of throwing it (for call sites with a fallback). */
export function safeReadJsonb<S extends z.ZodType>(schema: S, value: unknown, column: string): ReadJsonbResult<z.output<S>> {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (cause) {
      return { success: false, error: new JsonbColumnError(column, [], `not JSON (${(cause as Error).message})`, { cause }) };
    }
  }
  const result = schema.safeParse(parsed);
  if (result.success) return { success: true, data: result.data };
  return { success: false, error: new JsonbColumnError(column, result.error.issues, z.prettifyError(result.error), { cause: result.error }) };
}
