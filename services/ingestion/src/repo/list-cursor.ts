import { createHash } from 'node:crypto';
import { isUuid } from './sql-values.js';

/**
 * Keyset cursors of ingestion's lists (documents, collections), which page on `(created_at, id)`:
 * `[created_at as text, id]`, plus a fingerprint of the list's filters when it has any, so a cursor
 * is refused with other filters than those of the request that returned it (a page of "failed"
 * continued as "ready" would skip or repeat rows without saying so). An unfiltered list's cursor is
 * the two-element form it always was.
 */

/** The fingerprint of a list's filters (undefined ones left out); null when there are none. */
export function filterKey(filters: Record<string, string | readonly string[] | undefined>): string | null {
  const named = Object.entries(filters)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (named.length === 0) return null;
  return createHash('sha256').update(JSON.stringify(named)).digest('base64url').slice(0, 16);
}

export function encodeCursor(createdAt: string, id: string, filters: string | null = null): string {
  return Buffer.from(JSON.stringify(filters === null ? [createdAt, id] : [createdAt, id, filters])).toString('base64url');
}

/**
 * `created_at::text` as Postgres writes it (`2024-05-01 12:34:56.123456+00`, the offset per the
 * session's TimeZone), or ISO 8601 with a `T` or `Z`. Nothing looser: `Date.parse` takes "1", which
 * Postgres refuses as a timestamptz.
 */
const CURSOR_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2})(?::?(\d{2})(?::?(\d{2}))?)?)$/;

function isCursorTime(value: string): boolean {
  const m = CURSOR_TIME.exec(value);
  if (!m) return false;
  // An offset's missing minutes and seconds read as 0.
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes, offsetSeconds] = m.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number, number, number, number];
  // A real calendar day (no 2024-02-30, no year 0), as Postgres checks it; setUTCFullYear keeps years below 100.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60 &&
    offsetHours < 16 && offsetMinutes < 60 && offsetSeconds < 60;
}

/** The position a cursor names, or null for a malformed one or one made for other filters (`filters`: this request's `filterKey`). */
export function decodeCursor(cursor: string, filters: string | null = null): [string, string] | null {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(value) || typeof value[0] !== 'string' || !isUuid(value[1]) || !isCursorTime(value[0])) return null;
    const made = value.length === 2 ? null : value.length === 3 && typeof value[2] === 'string' ? value[2] : undefined;
    if (made === filters) return [value[0], value[1]];
  } catch {
    // falls through to null
  }
  return null;
}
