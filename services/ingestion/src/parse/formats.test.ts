import { chunkText } from '../chunk/chunk-text.js';
import { makeDocx } from '../testing/docx-fixtures.js';
import { makePdf, makeTwoColumnPdf } from '../testing/fixtures.js';
import { DOCX_MIME, detectType } from '../upload/detect-type.js';
import { DEFAULT_PARSE_LIMITS, parseDocument } from './parse-document.js';

const limits = DEFAULT_PARSE_LIMITS;

describe('formats', () => {
  test('PDF: a two-column page reads column by column; a page that shows only an image is reported as scanned, a blank one is not', async () => {
    const pdf = await makeTwoColumnPdf(
      ['Left column starts here.', 'It keeps going in the left.', 'The left column ends.', 'Left four.'],
      ['Right column begins.', 'More right column text.', 'The right column ends.', 'Right four.'],
      ['scan', 'blank'],
    );
    const parsed = await parseDocument(pdf, 'application/pdf', limits);
    const left = parsed.text.indexOf('The left column ends.');
    expect(left).toBeGreaterThan(parsed.text.indexOf('Left column starts here.'));
    expect(parsed.text.indexOf('Right column begins.')).toBeGreaterThan(left);
    expect(parsed.scannedPages).toEqual([2]);
    expect(parsed.warnings).toEqual([expect.stringMatching(/^1 page\(s\) have no text layer \(scanned\?\) and were skipped: 2\.$/)]);
    expect(parsed.pagesTotal).toBe(3);
  });

  test('DOCX: detected from content, headings become a heading path and tables keep their rows', async () => {
    const docx = makeDocx([
      { heading: 1, text: 'Employee handbook' },
      { text: 'Welcome to the company.' },
      { heading: 2, text: 'Leave' },
      { text: 'Everyone gets 30 days of paid leave per year.' },
      { table: [['Country', 'Days'], ['France', '30'], ['Japan', '20']] },
    ]);
    expect(detectType(docx, 'upload.bin').mime).toBe(DOCX_MIME);
    const parsed = await parseDocument(docx, DOCX_MIME, limits);
    expect(parsed.text).toContain('# Employee handbook');
    expect(parsed.text).toContain('| Country | Days |\n| --- | --- |\n| France | 30 |\n| Japan | 20 |');
    const chunks = await chunkText(parsed, { strategy: 'markdown', chunk_size: 60, chunk_overlap: 0 });
    const leave = chunks.find((c) => c.text.includes('30 days'))!;
    expect(leave.headingPath).toEqual(['Employee handbook', 'Leave']);
  });

  test('HTML: main content with headings and links; scripts, styles, nav and footer dropped', async () => {
    const html = `<!doctype html><html><head><title>T</title><style>.x{color:red}</style><script>var secret = 1;</script></head>
      <body><nav><a href="/">Home</a> | <a href="/about">About us menu</a></nav>
      <main><h1>Travel policy</h1><p>Book trains <b>two weeks</b> ahead. See <a href="https://example.com/rules">the rules</a>.</p>
      <h2>Hotels</h2><ul><li>Approved by a manager</li><li>Under 150 EUR</li></ul></main>
      <footer>Copyright 2024 footer text</footer><script>tracking()</script></body></html>`;
    const bytes = new TextEncoder().encode(html);
    expect(detectType(bytes, 'page.txt').mime).toBe('text/html');
    const parsed = await parseDocument(bytes, 'text/html', limits);
    expect(parsed.text).toContain('# Travel policy');
    expect(parsed.text).toContain('Book trains two weeks ahead. See [the rules](https://example.com/rules).');
    expect(parsed.text).toContain('## Hotels');
    expect(parsed.text).toContain('- Under 150 EUR');
    for (const gone of ['secret', 'color:red', 'About us menu', 'footer text', 'tracking']) expect(parsed.text).not.toContain(gone);
    const chunks = await chunkText(parsed, { strategy: 'markdown', chunk_size: 100, chunk_overlap: 0 });
    expect(chunks.find((c) => c.text.includes('150 EUR'))!.headingPath).toEqual(['Travel policy', 'Hotels']);
  });

  test('HTML: class and id names count as boilerplate only as whole tokens, and never on the page body itself', async () => {
    const html = `<html><body class="page no-sidebar"><div id="menu-wrapper"><div class="menu">Home About</div>
      <p>The expense policy covers travel and meals.</p></div><div class="sidebar">Related links</div></body></html>`;
    const parsed = await parseDocument(new TextEncoder().encode(html), 'text/html', limits);
    expect(parsed.text).toContain('The expense policy covers travel and meals.');
    for (const gone of ['Home About', 'Related links']) expect(parsed.text).not.toContain(gone);
  });

  test('a text file that mentions %PDF- is text; a PDF header at the start (or after junk in a binary file) is a PDF', () => {
    expect(detectType(new TextEncoder().encode('Notes on the %PDF-1.7 header format.\n'), 'notes.txt').mime).toBe('text/plain');
    expect(detectType(new TextEncoder().encode('%PDF-1.7\n'), 'x.bin').mime).toBe('application/pdf');
    expect(detectType(new Uint8Array([0xff, 0xfe, 0x00, 0x01, ...new TextEncoder().encode('%PDF-1.4\n')]), 'x.pdf').mime).toBe('application/pdf');
  });

  test('CSV: every row keeps its header and rows are never split across chunks', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => `${i},"Widget, model ${i}",${(i * 1.5).toFixed(2)}`);
    const bytes = new TextEncoder().encode(`id,name,price\n${rows.join('\n')}\n`);
    expect(detectType(bytes, 'prices.csv').mime).toBe('text/csv');
    const parsed = await parseDocument(bytes, 'text/csv', limits);
    expect(parsed.text.split('\n')[3]).toBe('id: 3; name: Widget, model 3; price: 4.50');
    const chunks = await chunkText(parsed, { strategy: 'recursive', chunk_size: 200, chunk_overlap: 20 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) for (const line of c.text.split('\n')) expect(line).toMatch(/^id: \d+; name: Widget, model \d+; price: [\d.]+$/);
  });

  test('UTF-16 with a byte order mark is parsed as its text: an Excel "Unicode Text" table, a PowerShell redirect', async () => {
    const utf16le = (t: string) => new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')]));
    const sheet = utf16le('Region\tSales, Q1\r\nNorth\t1,5\r\nS\u00fcd\t3,0\r\n');
    expect(detectType(sheet, 'sales.txt', 'text/tab-separated-values').mime).toBe('text/csv');
    expect((await parseDocument(sheet, 'text/csv', limits)).text).toBe('Region: North; Sales, Q1: 1,5\nRegion: S\u00fcd; Sales, Q1: 3,0');
    const be = new Uint8Array([0xfe, 0xff, ...Buffer.from('Meeting notes \u2013 Friday', 'utf16le').swap16()]);
    expect((await parseDocument(be, 'text/plain', limits)).text).toBe('Meeting notes \u2013 Friday');
    await expect(parseDocument(new Uint8Array([0xff, 0xfe, 0x00, 0xd8]), 'text/plain', limits)).rejects.toThrow('not valid UTF-8 or UTF-16 text');
  });

  test('tokens strategy: chunk sizes are counted in cl100k tokens, offsets still exact', async () => {
    const text = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} talks about embeddings and tokenizers.`).join(' ');
    const chunks = await chunkText({ text, pages: null, markdown: false }, { strategy: 'tokens', chunk_size: 50, chunk_overlap: 5 });
    const { tokenLength } = await import('../chunk/token-length.js');
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(tokenLength(c.text)).toBeLessThanOrEqual(50);
      expect(text.slice(c.charStart, c.charEnd)).toBe(c.text);
    }
  });

  test('a DOCX zip bomb is refused before inflating, and one that lies about its size is stopped while inflating', async () => {
    const small = { ...limits, maxUncompressedBytes: 5 * 1024 * 1024 };
    const declared = makeDocx([{ text: 'hi' }], [{ name: 'word/media/bomb.bin', data: Buffer.alloc(64 * 1024 * 1024) }]);
    expect(declared.length).toBeLessThan(200_000);
    await expect(parseDocument(declared, DOCX_MIME, small)).rejects.toThrow('The archive expands to more than 5 MiB (the limit, QUIRE_INGEST_MAX_UNCOMPRESSED_MB); refusing a possible zip bomb.');
    const lying = makeDocx([{ text: 'x'.repeat(8 * 1024 * 1024) }]).slice();
    // Patch every declared size down to 1 KB: the central directory now lies.
    const buf = Buffer.from(lying);
    for (let i = 0; i < buf.length - 4; i++) if (buf.readUInt32LE(i) === 0x02014b50) buf.writeUInt32LE(1024, i + 24);
    await expect(parseDocument(buf, DOCX_MIME, small)).rejects.toThrow(/more than 5 MiB \(the limit, QUIRE_INGEST_MAX_UNCOMPRESSED_MB\); refusing a possible zip bomb/);
    const many = makeDocx([{ text: 'x' }], Array.from({ length: 30 }, (_, i) => ({ name: `f${i}.xml`, data: 'x' })));
    await expect(parseDocument(many, DOCX_MIME, { ...limits, maxZipEntries: 10 })).rejects.toThrow(/entries; the limit is 10 \(QUIRE_INGEST_MAX_ZIP_ENTRIES\)\.$/);
  });

  test('too much text fails with its own code, too_much_text, and a too-long PDF names its limit; both name the setting to raise', async () => {
    const text = new TextEncoder().encode('word '.repeat(300));
    for (const [bytes, mime, what] of [
      [text, 'text/plain', 'The document'],
      [makeDocx([{ text: 'word '.repeat(300) }]), DOCX_MIME, 'The document'],
      [await makePdf([Array.from({ length: 40 }, () => 'word word word word word word word word')]), 'application/pdf', 'The PDF'],
    ] as const) {
      const error = await parseDocument(bytes, mime, { ...limits, maxChars: 1000 }).catch((e: unknown) => e);
      expect([mime, error]).toEqual([mime, expect.objectContaining({ code: 'too_much_text', message: `${what} has more than 1000 characters of text (the limit, QUIRE_INGEST_MAX_EXTRACTED_CHARS).` })]);
    }
    const pages = await parseDocument(await makePdf([['one'], ['two'], ['three']]), 'application/pdf', { ...limits, maxPages: 2 }).catch((e: unknown) => e);
    expect(pages).toMatchObject({ code: 'parse_failed', message: 'The PDF has 3 pages; the limit is 2 (QUIRE_INGEST_MAX_PAGES).' });
  });
});
