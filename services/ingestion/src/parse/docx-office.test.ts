import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkText } from '../chunk/chunk-text.js';
import { makeZip } from '../testing/docx-fixtures.js';
import { DEFAULT_PARSE_LIMITS } from './parse-document.js';
import { parseDocx } from './docx.js';
import { openZip } from './zip.js';

// DOCX files written by LibreOffice (see testing/office-files/README.md), not by Quire's own writer.
const dir = join(dirname(fileURLToPath(import.meta.url)), '../testing/office-files');
const office = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const parse = (bytes: Uint8Array) => parseDocx(bytes, DEFAULT_PARSE_LIMITS);
const blocks = (text: string) => text.split('\n\n');
/** An edit that inserts `xml` after the first `anchor`. */
const after = (anchor: string, xml: string) => (part: string) => part.replace(anchor, anchor + xml);
const para = (pPr: string, text: string) => `<w:p><w:pPr>${pPr}</w:pPr><w:r><w:t>${text}</w:t></w:r></w:p>`;

/** The office file with some of its parts rewritten, for what LibreOffice does not write itself. */
function edited(name: string, edits: Record<string, (xml: string) => string>): Uint8Array {
  const zip = openZip(office(name), DEFAULT_PARSE_LIMITS);
  return makeZip(zip.names().map((n) => ({ name: n, data: edits[n] ? edits[n](zip.read(n).toString('utf8')) : zip.read(n) })));
}

async function chunks(bytes: Uint8Array) {
  const parsed = parse(bytes);
  const out = await chunkText(parsed, { strategy: 'markdown', chunk_size: 400, chunk_overlap: 0 });
  for (const c of out) expect(parsed.text.slice(c.charStart, c.charEnd)).toBe(c.text);
  return out;
}

describe('DOCX from office software', () => {
  test('a text box is read once, after the paragraph that anchors it, which keeps its own text', () => {
    const text = parse(office('facilities.docx')).text;
    expect(text.split('Text inside a text box.')).toHaveLength(2);
    const outer = blocks(text).findIndex((b) => /^Before the frame\.\s+After the frame\.$/.test(b));
    expect(outer).toBeGreaterThan(0);
    expect(blocks(text)[outer + 1]).toBe('Text inside a text box.');
  });

  test('footnotes and endnotes are cited in place and defined right after the citing paragraph, under its headings', async () => {
    const handbook = parse(office('handbook.docx')).text;
    expect(handbook).toContain('Every employee must read it.[^1] Questions go to HR.');
    const cited = blocks(handbook).findIndex((b) => b.includes('read it.[^1]'));
    expect(blocks(handbook)[cited + 1]).toBe('[^1]: Footnote: revised by the Works Council in March 2024.');
    // Word's separator "notes" are not notes.
    expect(handbook.match(/\[\^\d+\]:/g)).toHaveLength(1);
    const note = (await chunks(office('handbook.docx'))).find((c) => c.text.includes('Works Council'))!;
    expect(note.text).toContain('Every employee must read it.');
    expect(note.headingPath).toEqual(['Employee Policy Handbook', 'Introduction']);

    const facilities = parse(office('facilities.docx')).text;
    expect(facilities).toContain('for details.[^1]\n\n[^1]: Endnote text: facilities reviewed yearly.\n\n## Office Directory');
  });

  test('numbered and bulleted lists keep their markers, numbers and nesting, without the tabs of HTML imports', () => {
    const page = parse(office('page.docx')).text;
    expect(page).toContain('## Booking Rules\n\n1. Book at least 14 days ahead.\n2. Choose economy class.\n3. Keep all receipts.\n\n### Allowances');
    expect(page).toContain('## Approval\n\n- Manager approval\n- Finance approval for trips over €2,000\n\nFinal paragraph');
    expect(page).not.toContain('\t');

    const handbook = parse(office('handbook.docx')).text;
    expect(handbook).toContain('1. Sign the employment contract.\n2. Complete the security training.\n3. Collect a badge from reception.');
    expect(handbook).toContain('- Permanent staff\n- Contractors on site\n- Interns and trainees');

    // A deeper level counts on its own and restarts under each item above it.
    expect(parse(office('facilities.docx')).text).toContain('1. First step\n    1. Sub step a\n2. Second step');
  });

  test('a list defined by the paragraph style, and one restarted with a start override', () => {
    // Word's "List Bullet" carries its numbering in the style, not in the paragraph.
    const listBullet = '<w:style w:type="paragraph" w:styleId="ListBullet"><w:name w:val="List Bullet"/><w:pPr><w:numPr><w:numId w:val="3"/></w:numPr></w:pPr></w:style>';
    const bytes = edited('handbook.docx', {
      'word/styles.xml': (xml) => xml.replace('</w:styles>', `${listBullet}</w:styles>`),
      // A second list on the numbered list's definition, restarted at 5.
      'word/numbering.xml': after(
        '<w:num w:numId="2"><w:abstractNumId w:val="2"/></w:num>',
        '<w:num w:numId="9"><w:abstractNumId w:val="2"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="5"/></w:lvlOverride></w:num>',
      ),
      'word/document.xml': (xml) =>
        [
          after('Covered groups include:</w:t></w:r></w:p>', para('<w:pStyle w:val="ListBullet"/>', 'Styled bullet')),
          after('Collect a badge from reception.</w:t></w:r></w:p>', para('<w:numPr><w:ilvl w:val="0"/><w:numId w:val="9"/></w:numPr>', 'Restarted at five')),
        ].reduce((part, edit) => edit(part), xml),
    });
    const text = parse(bytes).text;
    expect(text).toContain('Covered groups include:\n\n- Styled bullet\n- Permanent staff');
    expect(text).toContain('3. Collect a badge from reception.\n5. Restarted at five');
  });

  test('non-breaking hyphens and symbols are kept, soft hyphens dropped', () => {
    const text = parse(office('facilities.docx')).text;
    expect(text).toContain('a nonbreaking-hyphen in co-operate and a soft hyphen in extraordinary.');

    // A Wingdings arrow is a private-use code point (dropped); a symbol in a Unicode font is kept.
    const bytes = edited('facilities.docx', {
      'word/document.xml': after(
        '<w:r><w:rPr></w:rPr><w:t>Use the e mail address;',
        '</w:t><w:sym w:font="Wingdings" w:char="F0E0"/><w:t>Arrow</w:t><w:sym w:font="Arial" w:char="2192"/><w:t>here.',
      ),
    });
    expect(parse(bytes).text).toContain('Use the e mail address;Arrow→here.');
  });

  test('the Title heads the document, and a style based on a heading style is that heading', async () => {
    const handbook = await chunks(office('handbook.docx'));
    expect(handbook.find((c) => c.text.includes('Sick leave rules'))!.headingPath).toEqual(['Employee Policy Handbook', 'Leave and Holidays', 'Sick Leave']);
    expect(parse(office('handbook.docx')).text).toMatch(/^# Employee Policy Handbook\n\n## Introduction\n[^]*\n### Scope and Purpose\n[^]*\n#### Who Is Covered\n/);

    const chapter = '<w:style w:type="paragraph" w:customStyle="1" w:styleId="Chapter"><w:name w:val="Chapter"/><w:basedOn w:val="Heading1"/></w:style>';
    const custom = edited('handbook.docx', {
      'word/styles.xml': (xml) => xml.replace('</w:styles>', `${chapter}</w:styles>`),
      'word/document.xml': (xml) => xml.replace(/<w:pStyle w:val="Heading1"\/>((?:(?!<\/w:p>).)*<w:t>Leave and Holidays<)/, '<w:pStyle w:val="Chapter"/>$1'),
    });
    const text = parse(custom).text;
    expect(text).toContain('\n\n## Leave and Holidays\n\n');
    const sick = (await chunks(custom)).find((c) => c.text.includes('Sick leave rules'))!;
    expect(sick.headingPath).toEqual(['Employee Policy Handbook', 'Leave and Holidays', 'Sick Leave']);
  });
});

describe('DOCX tables with merged cells', () => {
  const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';
  const p = (t: string) => `<w:p><w:r><w:t xml:space="preserve">${t}</w:t></w:r></w:p>`;
  const tc = (t: string, pr = '') => `<w:tc>${pr ? `<w:tcPr>${pr}</w:tcPr>` : ''}${p(t)}</w:tc>`;
  const tr = (...cells: string[]) => `<w:tr>${cells.join('')}</w:tr>`;
  const docx = (body: string) =>
    makeZip([
      { name: '[Content_Types].xml', data: '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>' },
      { name: 'word/document.xml', data: `<?xml version="1.0"?><w:document ${W}><w:body>${body}</w:body></w:document>` },
    ]);
  const restart = '<w:vMerge w:val="restart"/>';
  const cont = '<w:vMerge/>';
  const sales =
    `<w:tbl>${tr(tc('Region'), tc('Quarter'), tc('Revenue'))}` +
    `${tr(tc('North', restart), tc('Q1'), tc('100'))}` +
    `${tr(tc('', cont), tc('Q2'), tc('120'))}` +
    `${tr(tc('Total', '<w:gridSpan w:val="2"/>'), tc('220'))}</w:tbl>`;

  test('a vertically merged cell repeats down its rows; a cell spanning columns fills its first, the others stay empty', () => {
    expect(parse(docx(sales)).text).toBe(
      '| Region | Quarter | Revenue |\n| --- | --- | --- |\n| North | Q1 | 100 |\n| North | Q2 | 120 |\n| Total |  | 220 |',
    );
  });

  test('a later chunk of the table reads its rows by the header, "North" included', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => tr(tc(i === 0 ? 'North' : '', i === 0 ? restart : cont), tc(`Week ${i + 1}`), tc(String(100 + i))));
    const parsed = parse(docx(`<w:tbl>${tr(tc('Region'), tc('Week'), tc('Revenue'))}${rows.join('')}</w:tbl>`));
    const out = await chunkText(parsed, { strategy: 'markdown', chunk_size: 200, chunk_overlap: 0 });
    const late = out.find((c) => c.text.includes('| Week 29 |'))!;
    expect(late.text).toContain('| North | Week 29 | 128 |');
    expect(late.context).toMatch(/^\| Region \| Week \| Revenue \|\n/);
  });

  test('merged blocks over several columns, rows starting past the first grid column, tracked-change properties', () => {
    const both = `${restart}<w:gridSpan w:val="2"/>`;
    const table =
      `<w:tbl>${tr(tc('A'), tc('B'), tc('C'), tc('D'))}` +
      `${tr(tc('Block', both), tc('c1'), tc('d1'))}` +
      `${tr(tc('', `${cont}<w:gridSpan w:val="2"/>`), tc('c2'), tc('d2'))}` +
      `<w:tr><w:trPr><w:gridBefore w:val="1"/></w:trPr>${tc('b3')}${tc('c3')}${tc('d3')}</w:tr>` +
      // The old properties of a tracked change are not the cell's: it spans nothing.
      `${tr(tc('a4', '<w:tcPrChange w:id="1"><w:tcPr><w:gridSpan w:val="3"/></w:tcPr></w:tcPrChange>'), tc('b4'), tc('c4'), tc('d4'))}</w:tbl>`;
    expect(parse(docx(table)).text.split('\n').slice(2)).toEqual(['| Block |  | c1 | d1 |', '| Block |  | c2 | d2 |', '|  | b3 | c3 | d3 |', '| a4 | b4 | c4 | d4 |']);
  });

  test('a huge gridSpan is capped at Word\'s 63 columns, and a table that would grow too much is read as written', () => {
    const full = tr(...Array.from({ length: 70 }, (_, i) => tc(`v${i}`)));
    const wide = parse(docx(`<w:tbl>${tr(tc('x', '<w:gridSpan w:val="100000000"/>'), tc('y'))}${full}</w:tbl>`)).text.split('\n');
    expect(wide[0]).toBe(`| x | ${Array(62).fill('').join(' | ')} | y | ${Array(6).fill('').join(' | ')} |`);
    expect(wide[2]!.split('|')).toHaveLength(2 + 70);
    // One wide row over many narrow ones: padding every row to 63 columns is past the bound.
    const narrow = Array.from({ length: 500 }, (_, i) => tr(tc(String(i)))).join('');
    const lines = parse(docx(`<w:tbl>${tr(tc('x', '<w:gridSpan w:val="63"/>'))}${narrow}</w:tbl>`)).text.split('\n');
    expect(lines[0]).toBe('| x |');
    expect(lines[lines.length - 1]).toBe('| 499 |');
  });
});
