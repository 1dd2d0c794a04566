/** Drivers differ (PGlite gives Dates and bigints, pg gives Dates and strings): normalise once here. */
export function isoString(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function toNullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value);
}

export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown })?.code === '23505';
}

/** Ids that are not UUIDs answer 404 like a missing row, never a driver error (the repositories import it from here). */
export { isUuid } from '@quire/contracts';

/** A `LIKE`/`ILIKE` pattern matching `text` anywhere, as typed: `%`, `_` and `\` escaped (use with `ESCAPE '\'`). */
export function likeSubstring(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
