import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkText } from '../chunk/chunk-text.js';
import { DEFAULT_PARSE_LIMITS } from './parse-document.js';
import { parsePdf } from './pdf.js';

// PDFs written by LibreOffice (see testing/office-files/README.md), not by Quire's own generators.
const dir = join(dirname(fileURLToPath(import.meta.url)), '../testing/office-files');
const office = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const parse = (name: string) => parsePdf(office(name), DEFAULT_PARSE_LIMITS);
const squeeze = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The text of the source's paragraph that starts with `start`, as the PDF should read it. */
function sourceParagraph(fodt: string, start: string): string {
  const at = fodt.indexOf(`>${start}`);
  return squeeze(fodt.slice(at + 1, fodt.indexOf('</text:p>', at)));
}

describe('PDF from office software', () => {
  test('two columns under a full-width heading and above full-width text read column by column', async () => {
    const parsed = await parse('handbook.pdf');
    const text = squeeze(parsed.text);
    const fodt = readFileSync(join(dir, 'handbook.fodt'), 'utf8');
    // Each column holds one long paragraph that runs over pages 3 and 4; read in order, each
    // comes out whole, as written.
    const left = sourceParagraph(fodt, 'Left column text.');
    const right = sourceParagraph(fodt, 'Right column text.');
    expect(text).toContain(left);
    expect(text).toContain(right);
    expect(text.indexOf('Workplace Conduct')).toBeLessThan(text.indexOf(left));
    expect(text.indexOf(left)).toBeLessThan(text.indexOf(right));
    // The heading under the columns sits in the left half of page 4, yet is read after them, so
    // the right column is not filed under it.
    expect(text.indexOf(right)).toBeLessThan(text.indexOf('Final Provisions'));
    const chunks = await chunkText(parsed, { strategy: 'recursive', chunk_size: 400, chunk_overlap: 0 });
    const late = chunks.find((c) => c.text.includes('Conduct R20'))!;
    expect([late.pageStart, late.headingPath]).toEqual([4, ['Workplace Conduct']]);
    expect(chunks.find((c) => c.text.includes('must survive'))!.headingPath).toEqual(['Workplace Conduct', 'Final Provisions']);
  });

  test('a table beside full-width text is still read row by row, not as columns', async () => {
    const handbook = (await parse('handbook.pdf')).text;
    expect(handbook).toContain('Years of service Days per year Carry-over\n0–2 25 5 days\n3–5 27 5 days\n6+ 30 10 days');
    const facilities = (await parse('facilities.pdf')).text;
    expect(facilities).toContain('Office Directory\nRoom Location Contact\nOffice 00 Building A floor 0 Contact person number 0 at\nextension 4000\nOffice 01');
  });

  test('a footnote or endnote mark stays on the line it is set in', async () => {
    const handbook = await parse('handbook.pdf');
    expect(handbook.text).toContain('the Straße naming. Every\nemployee must read it.1 Questions go to HR.\n');
    const facilities = await parse('facilities.pdf');
    expect(facilities.text).toContain('a soft hyphen in\nextraordinary. Visit the intranet page for details.i\n');
    // Headings here come from type sizes (the outline has one entry): the mark's line is body text.
    expect(facilities.headings!.map((h) => h.title)).toEqual(['Facilities', 'Office Directory', 'Nested Lists']);
  });
});
