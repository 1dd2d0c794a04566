import { z } from 'zod';
import { UuidSchema } from '@quire/contracts';
import { AppError } from '@quire/server-kit';

/**
 * Keyset pagination for the evaluation lists, as the other Quire lists page (`GET /v1/audit`,
 * ingestion's documents): `?cursor=&limit=`, answered with `next_cursor` (null on the last page).
 * A cursor is the last row's sort key, opaque to callers (base64url JSON), so a page never repeats or
 * skips a row that was there when the first page was read, whatever is added meanwhile.
 */
export const pageQuery = (defaultLimit: number, maxLimit: number) =>
  z.object({
    cursor: z.string().min(1).max(500).optional(),
    limit: z.coerce.number().int().min(1).max(maxLimit).default(defaultLimit),
  });

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The sort key a cursor holds; 400 naming `cursor` when it is not one this list made. */
export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError('invalid_request', 'The cursor is not valid (pass the next_cursor of the previous page).', { param: 'cursor' });
  return parsed.data;
}

const UUID = UuidSchema;
/** A row's creation time in whole microseconds since the epoch (exact, unlike a formatted time) and its id. */
export const CreatedCursor = z.tuple([z.string().regex(/^-?\d{1,19}$/), UUID]);

/** `(created_at, id)` below the cursor's, newest first; `$n` is the micros, `$n+1` the id. */
export const createdBefore = (alias: string, n: number) =>
  `($${n}::bigint IS NULL OR (${alias}.created_at, ${alias}.id) < ('epoch'::timestamptz + $${n}::bigint * interval '1 microsecond', $${n + 1}::uuid))`;

/** The column a page query selects so its last row can become the next cursor. */
export const createdMicros = (alias: string) => `(extract(epoch FROM ${alias}.created_at) * 1000000)::bigint::text AS created_us`;

/** `rows` holds up to `limit + 1` rows: the extra one only says there is a next page. */
export function pageOf<R>(rows: R[], limit: number, keyOf: (row: R) => readonly (string | number)[]): { data: R[]; next_cursor: string | null } {
  const data = rows.slice(0, limit);
  return { data, next_cursor: rows.length > limit ? encodeCursor(keyOf(data[data.length - 1]!)) : null };
}
