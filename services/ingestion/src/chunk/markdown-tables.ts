import { splitRecursiveSpans, type Span } from './recursive-spans.js';

/**
 * GFM pipe tables in Markdown-like text (the parsers write DOCX and HTML tables this way). A chunk
 * that starts inside a table, past its header row, holds rows of bare values: `tableHeaderAt` gives
 * it the header and delimiter rows to carry as its context, so the rows can be read.
 */
export interface TableMark {
  /** Where the header row starts. */
  start: number;
  /** Where the last row ends (before its line break). */
  end: number;
  /** The header row and the delimiter row, one under the other (as in the text, less indentation and `\r`). */
  header: string;
}

// The run alone: `(.*)$` after it backtracked through the run on a line with a lone `\r` (quadratic
// on a long line of backticks). A line with such a break opens no fence, as when `.` stopped at it.
const FENCE_RUN = /^ {0,3}(`{3,}|~{3,})/;
const INNER_BREAK = /[\r\u2028\u2029]/;
const fenceRun = (line: string) => (INNER_BREAK.test(line) ? null : FENCE_RUN.exec(line));
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const ATX = /^ {0,3}#{1,6}(?:[ \t]|$)/;
const DELIMITER_CELL = /^:?-+:?$/;

/** The line's cells, split at pipes not escaped by a backslash; null when it has no such pipe. */
function cells(line: string): string[] | null {
  const parts: string[] = [];
  let current = '';
  let pipes = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      current += c + line[++i];
    } else if (c === '|') {
      parts.push(current);
      current = '';
      pipes++;
    } else current += c;
  }
  parts.push(current);
  if (pipes === 0) return null;
  // The outer pipes of `| a | b |` bound the row; they open and close no cell.
  if (parts[0]!.trim() === '') parts.shift();
  if (parts.length > 0 && parts[parts.length - 1]!.trim() === '') parts.pop();
  return parts.map((p) => p.trim());
}

/** Indented four columns or more it is code, not a table (tabs count to the next multiple of 4). */
function indented(line: string): boolean {
  let column = 0;
  for (const c of line) {
    if (c === ' ') column++;
    else if (c === '\t') column += 4 - (column % 4);
    else break;
    if (column >= 4) return true;
  }
  return false;
}

/** A line that continues a table's body: it has a cell boundary and starts no other block. */
function isRow(line: string): boolean {
  const rest = line.trimStart();
  return rest !== '' && !rest.startsWith('>') && !ATX.test(line) && !fenceRun(line) && cells(line) !== null;
}

/**
 * Every table outside fenced code: a header row with a cell boundary, a delimiter row (`| --- | :-: |`)
 * with as many cells, then body rows up to the first line that is not a row. Offsets count the text
 * as it is (CRLF included).
 */
export function findTables(text: string): TableMark[] {
  const tables: TableMark[] = [];
  const raw = text.split('\n');
  const lines = raw.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const starts: number[] = [];
  for (let i = 0, at = 0; i < raw.length; at += raw[i]!.length + 1, i++) starts.push(at);
  let fence: { char: string; length: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence) {
      const close = FENCE_CLOSE.exec(line);
      if (close && close[1]![0] === fence.char && close[1]!.length >= fence.length) fence = null;
      continue;
    }
    const open = fenceRun(line);
    if (open && !(open[1]![0] === '`' && line.slice(open[0].length).includes('`'))) {
      fence = { char: open[1]![0]!, length: open[1]!.length };
      continue;
    }
    const next = lines[i + 1];
    if (next === undefined || indented(line) || indented(next) || !isRow(line)) continue;
    const head = cells(line)!;
    const delimiter = cells(next);
    if (!delimiter || delimiter.length !== head.length || !delimiter.every((c) => DELIMITER_CELL.test(c))) continue;
    let last = i + 1;
    while (last + 1 < lines.length && isRow(lines[last + 1]!)) last++;
    tables.push({ start: starts[i]! + (line.length - line.trimStart().length), end: starts[last]! + lines[last]!.length, header: `${line.trim()}\n${next.trim()}` });
    i = last;
  }
  return tables;
}

/**
 * The header of the table a chunk starting at `offset` begins inside of, past the start of the
 * header row (a chunk that starts at the header holds it); undefined elsewhere. Tables are in
 * document order, so the one that may hold `offset` is found by bisection.
 */
export function tableHeaderAt(tables: TableMark[], offset: number): string | undefined {
  let lo = 0;
  let hi = tables.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tables[mid]!.start < offset) lo = mid + 1;
    else hi = mid;
  }
  const table = tables[lo - 1];
  return table && offset < table.end ? table.header : undefined;
}

/**
 * Sizes counted in tokens can be an embedding model's hard limit on an input, so a header may not
 * take a chunk over the size. A span that starts inside a table past its header and has no room for
 * it is cut again (by the same rules, without overlap) into spans that leave the header's tokens
 * free. A header that would take more than half the size is not made room for: it would multiply
 * the table's chunks, so those chunks go without it.
 */
export function makeRoomForHeaders(text: string, spans: Span[], tables: TableMark[], options: { chunkSize: number; measure: (s: string) => number }): Span[] {
  if (tables.length === 0) return spans;
  const out: Span[] = [];
  for (const span of spans) {
    const header = tableHeaderAt(tables, span.start);
    const body = text.slice(span.start, span.end);
    if (header === undefined || options.measure(`${header}\n${body}`) <= options.chunkSize) {
      out.push(span);
      continue;
    }
    // A token spare: where the header meets the text, BPE may count one more than the two apart.
    const room = options.chunkSize - options.measure(`${header}\n`) - 1;
    if (room < options.chunkSize / 2) {
      out.push(span);
      continue;
    }
    for (const piece of splitRecursiveSpans(body, { chunkSize: room, chunkOverlap: 0, measure: options.measure })) {
      out.push({ start: span.start + piece.start, end: span.start + piece.end });
    }
  }
  return out;
}
