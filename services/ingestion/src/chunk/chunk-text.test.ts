import { GUIDE_MARKDOWN } from '../testing/fixtures.js';
import { chunkText } from './chunk-text.js';
import { findHeadings, headingPathAt } from './markdown-headings.js';

describe('chunkText on Markdown', () => {
  test('every chunk knows its offsets and the headings in force at its start', async () => {
    const chunks = await chunkText({ text: GUIDE_MARKDOWN, pages: null, markdown: true }, { strategy: 'markdown', chunk_size: 160, chunk_overlap: 30 });
    expect(chunks.length).toBeGreaterThan(4);
    chunks.forEach((c, i) => {
      expect(c.ordinal).toBe(i);
      expect(GUIDE_MARKDOWN.slice(c.charStart, c.charEnd)).toBe(c.text);
      expect(c.pageStart).toBeNull();
      expect(c.contentSha256).toMatch(/^[0-9a-f]{64}$/);
    });
    const path = (needle: string) => chunks.find((c) => c.text.includes(needle))!.headingPath;
    expect(chunks[0]!.headingPath).toEqual(['Guide']);
    expect(path('Run the installer')).toEqual(['Guide', 'Install']);
    expect(path('Node 20 or later')).toEqual(['Guide', 'Install', 'Requirements']);
    expect(path('QUIRE_PORT to change')).toEqual(['Guide', 'Configure']);
    // The "# not a heading" line sits in a code fence and must not open a new section.
    expect(path('export QUIRE_PORT=8080')).toEqual(['Guide', 'Configure']);
    expect(path('which setting is invalid')).toEqual(['Guide', 'Troubleshooting']);
    // Offsets increase: chunks come in document order.
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.charStart).toBeGreaterThan(chunks[i - 1]!.charStart);
  });

  test('repeated passages get their own offsets, not the first copy', async () => {
    const text = Array.from({ length: 12 }, () => 'The same sentence again and again.').join('\n\n');
    const chunks = await chunkText({ text, pages: null, markdown: false }, { strategy: 'recursive', chunk_size: 100, chunk_overlap: 0 });
    const starts = chunks.map((c) => c.charStart);
    expect(new Set(starts).size).toBe(chunks.length);
    for (const c of chunks) expect(text.slice(c.charStart, c.charEnd)).toBe(c.text);
    expect(chunks[chunks.length - 1]!.charEnd).toBe(text.length);
  });

  test('plain text gets no heading path even with the markdown strategy', async () => {
    const text = '# looks like a heading\n\nbut this is a .txt file.';
    const chunks = await chunkText({ text, pages: null, markdown: false }, { strategy: 'markdown', chunk_size: 100, chunk_overlap: 0 });
    expect(chunks.every((c) => c.headingPath.length === 0)).toBe(true);
  });
});

describe('findHeadings', () => {
  test('reads ATX and setext headings and nests by level', () => {
    const text = 'Title\n=====\n\nintro\n\nPart\n----\n\n### Deep ###\n\nbody';
    const marks = findHeadings(text);
    expect(marks.map((m) => [m.level, m.title])).toEqual([
      [1, 'Title'],
      [2, 'Part'],
      [3, 'Deep'],
    ]);
    expect(headingPathAt(marks, text.indexOf('body'))).toEqual(['Title', 'Part', 'Deep']);
    expect(headingPathAt(marks, text.indexOf('intro'))).toEqual(['Title']);
  });
});
