import { chunkText, type ChunkDraft } from './chunk-text.js';
import { findHeadings } from './markdown-headings.js';

const para = (topic: string, n: number) => Array.from({ length: n }, (_, i) => `${topic} rule ${i} says what the policy expects of staff.`).join(' ');
// Sections whose bodies fill most of a 300-character chunk, so a size-driven split leaves each heading
// at the end of the chunk before its body (what LibreOffice-made handbooks gave).
const HANDBOOK = [
  '# Handbook', para('Intro', 5), '# Leave and Holidays', '## Sick Leave', para('Sick', 5), '## Holidays', para('Holiday', 5),
  'Workplace Conduct\n=================', para('Conduct', 5),
].join('\n\n');

const headingLines = new Set(findHeadings(HANDBOOK).map((m) => HANDBOOK.slice(m.offset, HANDBOOK.indexOf('\n', m.offset) < 0 ? undefined : HANDBOOK.indexOf('\n', m.offset))));
const onlyHeadings = (c: ChunkDraft) => c.text.split('\n').every((line) => !line.trim() || headingLines.has(line) || /^=+$/.test(line.trim()));
const lastLine = (c: ChunkDraft) => c.text.trimEnd().split('\n').pop()!;

describe('headings stay with the text under them', () => {
  test.each(['recursive', 'markdown'] as const)('%s: no chunk is only headings, and none ends with one', async (strategy) => {
    const chunks = await chunkText({ text: HANDBOOK, pages: null, markdown: true }, { strategy, chunk_size: 300, chunk_overlap: 0 });
    for (const c of chunks) expect(HANDBOOK.slice(c.charStart, c.charEnd)).toBe(c.text);
    expect(chunks.filter(onlyHeadings)).toEqual([]);
    expect(chunks.slice(0, -1).filter((c) => headingLines.has(lastLine(c))).map((c) => c.text)).toEqual([]);
    // The section's first chunk starts with its title and carries it in its path.
    // Headings in a row go together, and the path is read under them.
    const sick = chunks.find((c) => c.text.includes('Sick rule 0'))!;
    expect(sick.text.startsWith('# Leave and Holidays\n\n## Sick Leave\n\nSick rule 0')).toBe(true);
    expect(sick.headingPath).toEqual(['Leave and Holidays', 'Sick Leave']);
    expect(chunks.find((c) => c.text.includes('Holiday rule 0'))!.headingPath).toEqual(['Leave and Holidays', 'Holidays']);
    const conduct = chunks.find((c) => c.text.includes('Conduct rule 0'))!;
    expect(conduct.text.startsWith('Workplace Conduct\n=====')).toBe(true);
    expect(conduct.headingPath).toEqual(['Workplace Conduct']);
    // Nothing was lost: every word of the text is in some chunk.
    const covered = new Set(chunks.flatMap((c) => c.text.split(/\s+/)));
    for (const word of HANDBOOK.split(/\s+/)) expect(covered.has(word)).toBe(true);
  });

  test('a chunk that ends with a heading keeps its body and hands the heading on', async () => {
    const text = `${para('Intro', 4)}\n\n## Next Part\n\n${para('Next', 4)}`;
    const chunks = await chunkText({ text, pages: null, markdown: true }, { strategy: 'recursive', chunk_size: 240, chunk_overlap: 0 });
    const intro = chunks.filter((c) => c.text.includes('Intro rule'));
    expect(intro.every((c) => !c.text.includes('## Next Part'))).toBe(true);
    expect(chunks.find((c) => c.text.includes('Next rule 0'))!.text.startsWith('## Next Part')).toBe(true);
  });

  test('with sizes in tokens, a chunk is never made larger than the size to take a heading', async () => {
    const chunks = await chunkText({ text: HANDBOOK, pages: null, markdown: true }, { strategy: 'tokens', chunk_size: 60, chunk_overlap: 0 });
    const { tokenLength } = await import('./token-length.js');
    for (const c of chunks) expect(tokenLength(c.text)).toBeLessThanOrEqual(60);
    for (const c of chunks) expect(HANDBOOK.slice(c.charStart, c.charEnd)).toBe(c.text);
  });

  test('plain text and CSV rows are left as the splitter made them', async () => {
    const text = `# not a heading in a .txt\n\n${para('Plain', 6)}`;
    const plain = await chunkText({ text, pages: null, markdown: false }, { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 });
    expect(plain[0]!.text).toBe('# not a heading in a .txt');
  });
});
