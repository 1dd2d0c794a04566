import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { joinPages } from '../parse/extracted-text.js';
import { GUIDE_MARKDOWN } from '../testing/fixtures.js';
import { chunkText, type ChunkDraft } from './chunk-text.js';
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

  test('a chunk that runs across headings records where each later section begins', async () => {
    const text = '# Handbook\n\n## 1. Hours\n\nWork starts at nine.\n\n## 2. Leave\n\nLeave is booked ahead.\n\n### 2.1 Vacation\n\nEveryone gets 25 days.\n';
    const [only, ...rest] = await chunkText({ text, pages: null, markdown: true }, { strategy: 'recursive', chunk_size: 1000, chunk_overlap: 0 });
    expect(rest).toEqual([]);
    expect(only!.headingPath).toEqual(['Handbook', '1. Hours']);
    expect(only!.sections).toEqual([
      { at: text.indexOf('## 2. Leave'), heading_path: ['Handbook', '2. Leave'] },
      { at: text.indexOf('### 2.1'), heading_path: ['Handbook', '2. Leave', '2.1 Vacation'] },
    ]);
    // A chunk that stays in one section carries none.
    const small = await chunkText({ text: '# A\n\nOne line only.', pages: null, markdown: true }, { strategy: 'recursive', chunk_size: 1000, chunk_overlap: 0 });
    expect(small[0]!.sections).toBeUndefined();
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

describe('chunkText with the tokens strategy', () => {
  const encoder = new Tiktoken(cl100k);
  const exactTokens = (text: string) => encoder.encode(text, [], []).length;
  const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  let seed = 3;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const words = 'the report of a quarterly ledger widget and caveat figure Zürich naïve'.split(' ');
  const sentence = () => Array.from({ length: 5 + Math.floor(next() * 12) }, () => words[Math.floor(next() * words.length)]).join(' ') + '.';
  const paragraph = (sentences: number) => Array.from({ length: sentences }, sentence).join(' ');

  /** The contract: exact cl100k size, exact offsets, document order, nothing but whitespace left out, no half characters. */
  function expectTokenChunks(text: string, chunks: ChunkDraft[], size: number): void {
    const covered = new Uint8Array(text.length);
    chunks.forEach((c, i) => {
      expect(c.ordinal).toBe(i);
      expect(text.slice(c.charStart, c.charEnd)).toBe(c.text);
      expect(c.text.trim()).toBe(c.text);
      expect(exactTokens(c.text)).toBeLessThanOrEqual(size);
      expect(LONE_SURROGATE.test(c.text)).toBe(false);
      if (i > 0) expect(c.charStart).toBeGreaterThan(chunks[i - 1]!.charStart);
      covered.fill(1, c.charStart, c.charEnd);
    });
    for (let i = 0; i < text.length; i++) if (!covered[i]) expect([i, text[i]!.trim()]).toEqual([i, '']);
  }

  test('prose and Markdown: sizes, offsets, heading paths and overlap', async () => {
    const text = [GUIDE_MARKDOWN, paragraph(30), '## Later', paragraph(4), paragraph(25).replace(/\. /g, '.\n')].join('\n\n');
    const chunks = await chunkText({ text, pages: null, markdown: true }, { strategy: 'tokens', chunk_size: 40, chunk_overlap: 10 });
    expectTokenChunks(text, chunks, 40);
    expect(chunks.find((c) => c.text.includes('Node 20 or later'))!.headingPath).toEqual(['Guide', 'Install', 'Requirements']);
    expect(chunks[chunks.length - 1]!.headingPath).toEqual(['Guide', 'Later']);
    // Words are never cut, and a chunk continues its predecessor with at most the overlap's worth
    // of it (a token more where trimming took the space off the first word).
    let overlaps = 0;
    chunks.forEach((c, i) => {
      expect(c.charStart === 0 || /\s/.test(text[c.charStart - 1]!)).toBe(true);
      expect(c.charEnd === text.length || /\s/.test(text[c.charEnd]!)).toBe(true);
      const previous = chunks[i - 1];
      if (previous && c.charStart < previous.charEnd) {
        overlaps++;
        expect(exactTokens(text.slice(c.charStart, previous.charEnd))).toBeLessThanOrEqual(11);
      }
    });
    expect(overlaps).toBeGreaterThan(5);
    const none = await chunkText({ text, pages: null, markdown: true }, { strategy: 'tokens', chunk_size: 40, chunk_overlap: 0 });
    none.slice(1).forEach((c, i) => expect(c.charStart).toBeGreaterThanOrEqual(none[i]!.charEnd));
  });

  test('paragraphs that fit stay whole: chunks start at a paragraph', async () => {
    const paragraphs = Array.from({ length: 30 }, () => paragraph(1 + Math.floor(next() * 3)));
    const text = paragraphs.join('\n\n');
    const chunks = await chunkText({ text, pages: null, markdown: false }, { strategy: 'tokens', chunk_size: 120, chunk_overlap: 0 });
    expectTokenChunks(text, chunks, 120);
    for (const c of chunks) expect(c.charStart === 0 || text.slice(c.charStart - 2, c.charStart) === '\n\n').toBe(true);
    for (const c of chunks) expect(c.charEnd === text.length || text.slice(c.charEnd, c.charEnd + 2) === '\n\n').toBe(true);
  });

  test('long words and text with no separators at all', async () => {
    const dna = Array.from({ length: 6000 }, () => 'ACGT'[Math.floor(next() * 4)]).join('');
    const blob = Array.from({ length: 3000 }, () => String.fromCharCode(97 + Math.floor(next() * 26))).join('');
    const text = `${paragraph(3)} ${blob} ${paragraph(3)}\n\n${dna}`;
    const chunks = await chunkText({ text, pages: null, markdown: false }, { strategy: 'tokens', chunk_size: 64, chunk_overlap: 8 });
    expectTokenChunks(text, chunks, 64);
    expect(chunks.filter((c) => /^[ACGT]+$/.test(c.text)).length).toBeGreaterThan(20);
  });

  test('non-ASCII text: accents, CJK without spaces, emoji', async () => {
    const japanese = '東京のデータは日本語のテキストです。句読点だけで区切られ、空白はありません。'.repeat(30);
    const emoji = '🙂👩‍👩‍👧🎉'.repeat(200);
    const text = [paragraph(6).replace(/e/g, 'é'), japanese, emoji, 'Ελλάδα και Straße και São Paulo. '.repeat(20)].join('\n\n');
    const chunks = await chunkText({ text, pages: null, markdown: false }, { strategy: 'tokens', chunk_size: 32, chunk_overlap: 4 });
    expectTokenChunks(text, chunks, 32);
    expect(chunks.filter((c) => c.text.includes('🙂')).length).toBeGreaterThan(10);
  });

  test('pages are chunked one at a time and each chunk names its page', async () => {
    const doc = joinPages([1, 2, 3].map((num) => ({ num, text: `Page ${num}. ${paragraph(12)}` })));
    const chunks = await chunkText({ ...doc, markdown: false }, { strategy: 'tokens', chunk_size: 50, chunk_overlap: 10 });
    expectTokenChunks(doc.text, chunks, 50);
    for (const c of chunks) {
      const page = doc.pages!.find((p) => p.start <= c.charStart && c.charEnd <= p.end)!;
      expect([c.pageStart, c.pageEnd]).toEqual([page.num, page.num]);
    }
    expect(new Set(chunks.map((c) => c.pageStart))).toEqual(new Set([1, 2, 3]));
  });
});
