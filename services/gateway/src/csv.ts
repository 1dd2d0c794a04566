/** Characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell (RFC 4180 quoting) that a spreadsheet shows as text. Exports hold values callers
 * chose (paths, names, model ids), and Excel or Sheets would run `=HYPERLINK(...)` in one as a
 * formula, so a text cell that starts like a formula gets a leading `'` (OWASP's advice). Numbers
 * are the export's own and pass unchanged: a negative amount must stay a number.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
