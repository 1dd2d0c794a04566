import { chunkText } from '../chunk/chunk-text.js';
import { makePdf } from '../testing/fixtures.js';
import { parseDocument } from './parse-document.js';
import { ParseError } from './extracted-text.js';

describe('parsePdf', () => {
  test('keeps each page with its number and chunk offsets and pages line up', async () => {
    const pdf = await makePdf([
      ['Company handbook', 'Welcome to the company. Read every chapter before your first week.'],
      ['Chapter 2: Equipment', 'The warranty period for company laptops is 36 months from delivery.'],
      ['Chapter 3: Travel', 'Book trains two weeks ahead. Hotels must be approved by a manager.'],
    ]);
    const parsed = await parseDocument(pdf, 'application/pdf');
    expect(parsed.pagesTotal).toBe(3);
    expect(parsed.pages!.map((p) => p.num)).toEqual([1, 2, 3]);
    expect(parsed.text.slice(parsed.pages![1]!.start, parsed.pages![1]!.end)).toContain('36 months');

    const chunks = await chunkText(parsed, { strategy: 'recursive', chunk_size: 100, chunk_overlap: 20 });
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const c of chunks) expect(parsed.text.slice(c.charStart, c.charEnd)).toBe(c.text);
    const warranty = chunks.find((c) => c.text.includes('36 months'))!;
    expect([warranty.pageStart, warranty.pageEnd]).toEqual([2, 2]);
    const travel = chunks.find((c) => c.text.includes('Hotels must be approved'))!;
    expect(travel.pageEnd).toBe(3);
    expect(chunks[0]!.pageStart).toBe(1);

    // Even when a chunk could hold the whole document, chunks never cross a page.
    const wide = await chunkText(parsed, { strategy: 'recursive', chunk_size: 4000, chunk_overlap: 0 });
    expect(wide.map((c) => [c.pageStart, c.pageEnd])).toEqual([[1, 1], [2, 2], [3, 3]]);
    for (const c of wide) expect(parsed.text.slice(c.charStart, c.charEnd)).toBe(c.text);
  });

  test('a broken PDF is a parse error, not a crash', async () => {
    const broken = new TextEncoder().encode('%PDF-1.7\nthis is not really a pdf\n%%EOF');
    await expect(parseDocument(broken, 'application/pdf')).rejects.toBeInstanceOf(ParseError);
  });
});
