import { ParseError } from './extracted-text.js';
import { fromText, type ParsedDocument } from './parsed-document.js';

/**
 * The separators tried, in the order that settles a tie (each gives the same field count on every
 * record sampled). A tab first: Excel's "Text (Tab delimited)" and "Unicode Text" exports use it,
 * and a tab is almost never typed into a cell. Then `;`: Excel's "CSV" uses the locale's list
 * separator, which is `;` wherever the decimal separator is `,` (German, French, Dutch, Spanish,
 * Italian...), and it quotes only fields holding a `;`, so decimal commas and commas in text stay
 * bare and a `;` file splits on `,` consistently surprisingly often (`Region;Sales, Q1;Sales, Q2`
 * over `North;1,5;2,5`). The converse is rare: a `,` export (English locales) quotes every field
 * holding a comma, and bare `;` in every record are not what its values look like. Then `,`, then
 * `|`, which Excel never writes (database dumps do).
 */
const DELIMITERS = ['\t', ';', ',', '|'] as const;
export type CsvDelimiter = (typeof DELIMITERS)[number];

/** Records read to choose the separator, and how much text they may span. */
const SNIFF_RECORDS = 50;
const SNIFF_CHARS = 65_536;

/**
 * Records of RFC 4180 text (quotes, doubled quotes, newlines inside quotes), at most `limit`.
 * A field is quoted when its first character other than spaces and tabs is `"` (`1, "Smith, John"`,
 * as Python's csv with skipinitialspace and most spreadsheet importers read it); the whitespace
 * before the quote is dropped. Records of only blank fields are skipped.
 */
function readRecords(text: string, delimiter: CsvDelimiter, limit = Infinity): string[][] {
  const records: string[][] = [];
  let field = '';
  // Whether `field` holds only spaces and tabs so far, so a `"` now opens a quoted field.
  let blank = true;
  let record: string[] = [];
  let quoted = false;
  const endField = () => {
    record.push(field);
    field = '';
    blank = true;
  };
  for (let i = 0; i < text.length && records.length < limit; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === delimiter) endField();
    else if (ch === '"' && blank) {
      quoted = true;
      blank = false;
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endField();
      if (record.some((f) => f.trim())) records.push(record);
      record = [];
    } else {
      field += ch;
      if (ch !== ' ' && ch !== '\t') blank = false;
    }
  }
  if (records.length < limit) {
    endField();
    if (record.some((f) => f.trim())) records.push(record);
  }
  return records;
}

/**
 * The separator (`,` `;` tab `|`) that splits the first records, read with their quotes, into the
 * same number of fields (more than one) most often: a consistent table wins over a character that
 * merely occurs a lot in the header. Ties go by DELIMITERS' order; text that no separator splits is
 * one column, read with `,`.
 */
export function detectDelimiter(text: string): CsvDelimiter {
  const sample = text.slice(0, SNIFF_CHARS);
  let best: { delimiter: CsvDelimiter; agreeing: number } = { delimiter: ',', agreeing: 0 };
  for (const delimiter of DELIMITERS) {
    if (!sample.includes(delimiter)) continue;
    const records = readRecords(sample, delimiter, SNIFF_RECORDS + 1);
    // The last record of a cut sample may be cut too; it does not vote.
    if (text.length > sample.length && records.length > 1) records.pop();
    const counts = new Map<number, number>();
    for (const r of records) if (r.length > 1) counts.set(r.length, (counts.get(r.length) ?? 0) + 1);
    const agreeing = Math.max(0, ...counts.values());
    if (agreeing > best.agreeing) best = { delimiter, agreeing };
  }
  return best.delimiter;
}

/** RFC 4180 records (quotes, doubled quotes, newlines inside quotes); the delimiter is sniffed (detectDelimiter). */
export function parseCsvRecords(text: string): string[][] {
  return readRecords(text, detectDelimiter(text));
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
