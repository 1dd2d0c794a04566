import { ParseError } from './extracted-text.js';
import { fromText, type ParsedDocument } from './parsed-document.js';

/** RFC 4180 records (quotes, doubled quotes, newlines inside quotes); the delimiter is sniffed. */
export function parseCsvRecords(text: string): string[][] {
  const firstLine = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length);
  const delimiter = [',', ';', '\t', '|'].map((d) => [d, firstLine.split(d).length] as const).sort((a, b) => b[1] - a[1])[0]![0];
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field.length === 0) quoted = true;
    else if (ch === delimiter) {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      if (record.some((f) => f.trim())) records.push(record);
      record = [];
      field = '';
    } else field += ch;
  }
  record.push(field);
  if (record.some((f) => f.trim())) records.push(record);
  return records;
}

/**
 * CSV -> one line per row, each value with its column name ("col: value; ..."), so a chunk of
 * rows still says what every number means. Chunking keeps rows whole (`rows: true`).
 */
export function parseCsv(text: string): ParsedDocument {
  const records = parseCsvRecords(text);
  if (records.length === 0) return fromText('', { rows: true });
  const header = records[0]!.map((h, i) => h.trim() || `column ${i + 1}`);
  if (records.length === 1) throw new ParseError('The CSV has a header row but no data rows.');
  const lines = records.slice(1).map((r) =>
    r
      .map((v, i) => [header[i] ?? `column ${i + 1}`, v.replace(/\s+/g, ' ').trim()] as const)
      .filter(([, v]) => v.length > 0)
      .map(([h, v]) => `${h}: ${v}`)
      .join('; '),
  );
  return fromText(lines.filter((l) => l.length > 0).join('\n'), { rows: true });
}
