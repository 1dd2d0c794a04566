import { PDFDocument, type PDFFont, type PDFPage, StandardFonts } from 'pdf-lib';
import { chunkText } from '../chunk/chunk-text.js';
import { DEFAULT_PARSE_LIMITS, parseDocument } from './parse-document.js';

const HEAD = 'ACME Corp Travel Policy - Confidential';
const BODY = [
  'Employees may claim travel expenses within thirty days of the trip. All claims need a',
  'receipt and the approval of the line manager. Claims for meals are limited to the per',
  'diem rate of the destination country, which finance publishes each January. Late reim-',
  'bursement requests are rejected unless the manager confirms an exceptional circum-',
  'stance in writing to the finance team.',
];

/**
 * A company policy: a running head and a "Page N of M" footer on every page, a numbered section a
 * page in larger type, and words hyphenated at line ends. `extra` draws more on a page.
 */
async function policyPdf(pages = 3, extra?: (page: PDFPage, num: number, font: PDFFont) => void, head = { text: HEAD, size: 9 }): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  for (let p = 1; p <= pages; p++) {
    const page = doc.addPage([612, 792]);
    page.drawText(head.text, { x: 50, y: 760, size: head.size, font });
    page.drawText(`${p}. Section ${p}`, { x: 50, y: 720, size: 14, font: bold });
    BODY.forEach((l, i) => page.drawText(l, { x: 50, y: 690 - i * 14, size: 11, font }));
    page.drawText(`Page ${p} of ${pages}`, { x: 280, y: 40, size: 9, font });
    extra?.(page, p, font);
  }
  return doc.save();
}

const chunking = { strategy: 'recursive', chunk_size: 1000, chunk_overlap: 0 } as const;

describe('PDF running heads and footers', () => {
  test('are left out of the text, while pages, offsets and progress stay as they were', async () => {
    const progress: [number, number][] = [];
    const parsed = await parseDocument(await policyPdf(), 'application/pdf', { ...DEFAULT_PARSE_LIMITS, onPage: (page, total) => progress.push([page, total]) });
    expect(progress).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(parsed.text).not.toContain(HEAD);
    expect(parsed.text).not.toMatch(/Page \d of 3/);
    expect(parsed.pagesTotal).toBe(3);
    expect(parsed.pages!.map((p) => p.num)).toEqual([1, 2, 3]);
    expect(parsed.scannedPages).toEqual([]);
    for (const [i, span] of parsed.pages!.entries()) expect(parsed.text.slice(span.start, span.end).startsWith(`${i + 1}. Section ${i + 1}\n\n`)).toBe(true);

    const chunks = await chunkText(parsed, chunking);
    expect(chunks).toHaveLength(3);
    for (const [i, c] of chunks.entries()) {
      expect(parsed.text.slice(c.charStart, c.charEnd)).toBe(c.text);
      expect([c.pageStart, c.pageEnd]).toEqual([i + 1, i + 1]);
      expect(c.text).not.toContain(HEAD);
      expect(c.text).not.toMatch(/Page \d of 3/);
    }
  });

  test("each page's chunk carries the heading of the section on that page", async () => {
    const parsed = await parseDocument(await policyPdf(), 'application/pdf');
    expect(parsed.headings?.map((h) => h.title)).toEqual(['1. Section 1', '2. Section 2', '3. Section 3']);
    for (const h of parsed.headings!) expect(parsed.text.slice(h.offset).startsWith(h.title)).toBe(true);
    const chunks = await chunkText(parsed, chunking);
    // With the head in the text, each chunk opened above its page's heading, under the section before.
    expect(chunks.map((c) => c.headingPath)).toEqual([['1. Section 1'], ['2. Section 2'], ['3. Section 3']]);
  });

  test('a one-page PDF keeps its head and footer; lines in heading type, that tell pages apart or that run on into the text stay', async () => {
    const single = await parseDocument(await policyPdf(1), 'application/pdf');
    expect(single.text).toContain(HEAD);
    expect(single.text).toContain('Page 1 of 1');

    // Above the footer, apart from it and from the text: a line of its own on each page.
    const parsed = await parseDocument(await policyPdf(4, (page, p, font) => page.drawText(`Form ${p * 7}-B filed`, { x: 50, y: 70, size: 9, font })), 'application/pdf');
    expect(parsed.text).not.toContain(HEAD);
    expect(parsed.text).not.toMatch(/Page \d of 4/);
    for (let p = 1; p <= 4; p++) expect(parsed.text).toContain(`Form ${p * 7}-B filed`);

    // The same line atop every page, but in heading type: a real heading may open a page.
    const titled = await parseDocument(await policyPdf(3, undefined, { text: 'Travel Policy', size: 18 }), 'application/pdf');
    expect(titled.text.match(/Travel Policy/g)).toHaveLength(3);

    // A table's header row repeated atop each page runs on into its rows: it is the table's, not furniture.
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (let p = 1; p <= 3; p++) {
      const page = doc.addPage([612, 792]);
      page.drawText('Name Department Start date', { x: 50, y: 760, size: 10, font });
      for (let r = 0; r < 4; r++) page.drawText(`Person ${p}-${r} Finance 2024`, { x: 50, y: 746 - r * 14, size: 10, font });
    }
    const table = await parseDocument(await doc.save(), 'application/pdf');
    expect(table.text.match(/Name Department Start date/g)).toHaveLength(3);
  });

  test('words hyphenated at a line end are joined, so a keyword search finds them', async () => {
    const parsed = await parseDocument(await policyPdf(), 'application/pdf');
    expect(parsed.text).toContain('Late reimbursement requests');
    expect(parsed.text).toContain('exceptional circumstance in writing');
    expect(parsed.text).not.toMatch(/reim-|circum-/);
    const chunks = await chunkText(parsed, chunking);
    for (const c of chunks) expect(parsed.text.slice(c.charStart, c.charEnd)).toBe(c.text);
  });
});
