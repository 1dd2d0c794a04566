import { createHash } from 'node:crypto';
import { tokenLength } from './token-length.js';
import { chunkText, type ChunkDraft } from './chunk-text.js';
import { findTables, tableHeaderAt } from './markdown-tables.js';
import { fastestMs } from '../testing/fastest-ms.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const HEADER = '| Region | Q1 revenue | Q2 revenue |\n| --- | ---: | :---: |';
const rows = (n: number, width = 0) =>
  Array.from({ length: n }, (_, i) => `| Region ${i}${' filler'.repeat(width)} | ${100 + i} | ${200 + i} |`).join('\n');

/** Intro prose, a long table, prose after it, and a table inside a code fence (which is code, not a table). */
const REPORT = [
  '# Sales',
  'The table below lists revenue by region for the first two quarters of the year, in thousands.',
  `${HEADER}\n${rows(30)}`,
  'After the table, a paragraph that says nothing about any column of it, at some length to fill a chunk.',
  '```\n| Not | A | Table |\n| --- | --- | --- |\n| 1 | 2 | 3 |\n| 4 | 5 | 6 |\n```',
].join('\n\n');

const inside = (text: string, offset: number, table: string) => offset > text.indexOf(table) && offset < text.indexOf(table) + table.length;

function expectOffsetsAndKeys(text: string, chunks: ChunkDraft[]): void {
  for (const c of chunks) {
    expect(text.slice(c.charStart, c.charEnd)).toBe(c.text);
    // The cache key is the hash of what is embedded; byte-identical to the old key without context.
    expect(c.contentSha256).toBe(sha256(c.context ? `${c.context}\n${c.text}` : c.text));
  }
}

describe('table headers as chunk context', () => {
  test.each(['recursive', 'markdown'] as const)('%s: chunks that start inside a table past its header get the header; no other chunk does', async (strategy) => {
    const chunks = await chunkText({ text: REPORT, pages: null, markdown: true }, { strategy, chunk_size: 200, chunk_overlap: 40 });
    expectOffsetsAndKeys(REPORT, chunks);
    const table = `${HEADER}\n${rows(30)}`;
    const continuing = chunks.filter((c) => inside(REPORT, c.charStart, table));
    expect(continuing.length).toBeGreaterThan(3);
    for (const c of continuing) expect(c.context).toBe(HEADER);
    // The chunk holding the header reads it itself; prose before and after and the fenced lines have none.
    const first = chunks.find((c) => c.text.includes('| Region | Q1 revenue'))!;
    expect(first.context).toBeUndefined();
    for (const c of chunks.filter((c) => !inside(REPORT, c.charStart, table))) expect(c.context).toBeUndefined();
    expect(chunks.some((c) => c.text.includes('| 4 | 5 | 6 |'))).toBe(true);
  });

  test('a chunk that starts in the middle of a row (a row longer than the chunk) still gets the header', async () => {
    const text = `Intro.\n\n${HEADER}\n${rows(6, 20)}`;
    const chunks = await chunkText({ text, pages: null, markdown: true }, { strategy: 'recursive', chunk_size: 90, chunk_overlap: 0 });
    expectOffsetsAndKeys(text, chunks);
    const midRow = chunks.filter((c) => !c.text.startsWith('|') && c.charStart > text.indexOf(HEADER));
    expect(midRow.length).toBeGreaterThan(3);
    for (const c of midRow) expect(c.context).toBe(HEADER);
  });

  test('a plain-text document gets no context, even with a pipe table in it', async () => {
    const text = `${HEADER}\n${rows(30)}`;
    const plain = await chunkText({ text, pages: null, markdown: false }, { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 });
    expect(plain.length).toBeGreaterThan(3);
    expect(plain.every((c) => c.context === undefined && c.contentSha256 === sha256(c.text))).toBe(true);
  });

  test('tokens: chunks inside a table are cut smaller so that the header fits within the size', async () => {
    const text = `Intro.\n\n${HEADER}\n${rows(40)}\n\nThe end.`;
    const table = `${HEADER}\n${rows(40)}`;
    const chunks = await chunkText({ text, pages: null, markdown: true }, { strategy: 'tokens', chunk_size: 60, chunk_overlap: 10 });
    expectOffsetsAndKeys(text, chunks);
    const continuing = chunks.filter((c) => inside(text, c.charStart, table));
    expect(continuing.length).toBeGreaterThan(5);
    for (const c of continuing) expect(c.context).toBe(HEADER);
    // The size is a hard limit of what is embedded, header included.
    for (const c of chunks) expect(tokenLength(c.context ? `${c.context}\n${c.text}` : c.text)).toBeLessThanOrEqual(60);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.charStart).toBeGreaterThan(chunks[i - 1]!.charStart);
  });

  test('tokens: a header over half the size is left out rather than cutting the table into slivers', async () => {
    const wide = `| ${Array.from({ length: 16 }, (_, i) => `Column ${i}`).join(' | ')} |\n|${' --- |'.repeat(16)}`;
    const body = Array.from({ length: 30 }, (_, r) => `| ${Array.from({ length: 16 }, (_, i) => r * 16 + i).join(' | ')} |`).join('\n');
    const text = `${wide}\n${body}`;
    expect(tokenLength(wide)).toBeGreaterThan(40);
    const chunks = await chunkText({ text, pages: null, markdown: true }, { strategy: 'tokens', chunk_size: 80, chunk_overlap: 0 });
    expectOffsetsAndKeys(text, chunks);
    for (const c of chunks) expect(tokenLength(c.context ? `${c.context}\n${c.text}` : c.text)).toBeLessThanOrEqual(80);
    expect(chunks.every((c) => c.context === undefined)).toBe(true);
  });
});

describe('findTables', () => {
  test('a header needs a delimiter row with as many cells; the body ends at the first line that is not a row', () => {
    const text = [
      'a | b\n---', // a setext heading, not a table: one delimiter cell for two header cells
      '| x | y |\n|---|---|\n| 1 | 2 |\n| 3 \\| 4 | 5 |\nnot a row',
      'p | q\n:-: | -:\n7 | 8',
      '    | indented | code |\n    | --- | --- |',
      '~~~\n| fenced | x |\n| --- | --- |\n~~~',
      '# Heading | with pipe\n--- | ---',
    ].join('\n\n');
    const tables = findTables(text);
    expect(tables.map((t) => t.header)).toEqual(['| x | y |\n|---|---|', 'p | q\n:-: | -:']);
    expect(text.slice(tables[0]!.start, tables[0]!.end)).toBe('| x | y |\n|---|---|\n| 1 | 2 |\n| 3 \\| 4 | 5 |');
    expect(text.slice(tables[1]!.start, tables[1]!.end)).toBe('p | q\n:-: | -:\n7 | 8');
    expect(tableHeaderAt(tables, tables[0]!.start)).toBeUndefined();
    expect(tableHeaderAt(tables, text.indexOf('| 3'))).toBe('| x | y |\n|---|---|');
    expect(tableHeaderAt(tables, text.indexOf('not a row'))).toBeUndefined();
    expect(tableHeaderAt(tables, text.indexOf('7 | 8'))).toBe('p | q\n:-: | -:');
    expect(tableHeaderAt(tables, text.indexOf('| fenced'))).toBeUndefined();
  });

  test('CRLF text: offsets count the carriage returns, the header leaves them out', () => {
    const text = 'Intro\r\n\r\n| a | b |\r\n| - | - |\r\n| 1 | 2 |\r\n\r\nAfter';
    const [table] = findTables(text);
    expect(table!.header).toBe('| a | b |\n| - | - |');
    expect(text.slice(table!.start, table!.end)).toBe('| a | b |\r\n| - | - |\r\n| 1 | 2 |');
  });
});

test('a crafted line (a long run of backticks before a lone carriage return) is read in linear time', () => {
  const text = `${'`'.repeat(100_000)}\rx\n| a | b |\n| --- | --- |\n| 1 | 2 |`;
  expect(findTables(text)).toHaveLength(1);
  // Quadratic, this took seconds (2.5 s at 40,000 characters); linear, milliseconds.
  expect(fastestMs(() => findTables(text), 500)).toBeLessThan(500);
});
