import { PDFDocument, StandardFonts } from 'pdf-lib';
import { parseDocument } from './parse-document.js';
import type { Item } from './pdf-layout.js';
import { layoutPage } from './pdf.js';

const WIDTH = 600;

/** A run as pdf.js reports it; `w` defaults to half an em a character. */
const run = (str: string, x: number, y: number, h = 10, w = str.length * h * 0.5): Item => ({ str, x, y, w, h });
/** Lines of text `w` wide from (x, y) down, 12 apart. */
const block = (texts: string[], x: number, y: number, w: number, h = 10) => texts.map((t, i) => run(t, x, y - i * 12, h, w));
const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} line ${i + 1}`);
const page = (items: Item[]) => layoutPage(items, WIDTH, 1);

describe('PDF page layout', () => {
  test('a superscript that sits higher and sorts first joins its line, which keeps its baseline and size', () => {
    const { text, lines } = page([
      run('with the naming. Every', 50, 713.3, 11),
      run('employee must read it.', 50, 700.5, 11, 128),
      run('1', 178.1, 704.8, 6.4, 4),
      run('Questions go to HR.', 186, 700.5, 11, 112),
      run('Water is H', 50, 687.7, 11, 60),
      run('2', 110, 685.5, 6.4, 4),
      run('O.', 114, 687.7, 11, 12),
    ]);
    expect(text).toBe('with the naming. Every\nemployee must read it.1 Questions go to HR.\nWater is H2O.');
    expect(lines[1]).toMatchObject({ size: 11, y: 700.5, blockStart: false });
  });

  test('lines of small type set close together stay apart, and so do a large line and the line under it', () => {
    const notes = page([run('1 First note in small type.', 50, 100, 6.4), run('2 Second note in small type.', 50, 92.5, 6.4)]);
    expect(notes.text).toBe('1 First note in small type.\n2 Second note in small type.');
    const title = page([run('Annual Report', 50, 740, 24), run('A year of growth.', 50, 728, 11)]);
    expect(title.text).toBe('Annual Report\nA year of growth.');
  });

  test('two columns between full-width text read left column, then right, top to bottom', () => {
    const { text, lines } = page([
      ...block(['Full-width title line that runs across the page'], 50, 760, 500),
      ...block(numbered('Left', 6), 50, 730, 230),
      ...block(numbered('Right', 6), 320, 730, 230),
      ...block(['Full-width closing paragraph across the page', 'and its second line.'], 50, 640, 500),
    ]);
    expect(text).toBe(
      'Full-width title line that runs across the page\n\n' +
        `${numbered('Left', 6).join('\n')}\n\n${numbered('Right', 6).join('\n')}\n\n` +
        'Full-width closing paragraph across the page\nand its second line.',
    );
    expect(lines.filter((l) => l.blockStart).map((l) => l.text)).toEqual(['Full-width title line that runs across the page', 'Left line 1', 'Right line 1', 'Full-width closing paragraph across the page']);
  });

  test('the short last line of a paragraph above the columns stays with its paragraph', () => {
    const { text } = page([
      ...block(['A full-width paragraph that runs across the page'], 50, 760, 500),
      run('and ends short.', 50, 748, 10, 80),
      ...block(['Method'], 50, 724, 60, 14),
      ...block(numbered('Left', 6), 50, 706, 230),
      ...block(numbered('Right', 7), 320, 724, 230),
    ]);
    expect(text.startsWith('A full-width paragraph that runs across the page\nand ends short.\n\nMethod\nLeft line 1')).toBe(true);
  });

  test('a heading under the columns that leads into full-width text is read after the right column', () => {
    const { text } = page([
      ...block(numbered('Left', 7), 50, 760, 230),
      ...block(numbered('Right', 6), 320, 760, 230),
      run('Next Part', 50, 670, 14, 80),
      ...block(['Full-width text after the heading, across the page'], 50, 656, 500),
    ]);
    expect(text).toBe(`${numbered('Left', 7).join('\n')}\n\n${numbered('Right', 6).join('\n')}\n\nNext Part\nFull-width text after the heading, across the page`);
  });

  test('a left column that runs on past the right one keeps its lines', () => {
    const left = numbered('Left', 12);
    const { text } = page([...block(['Full-width title line that runs across the page'], 50, 790, 500), ...block(left, 50, 760, 230), ...block(numbered('Right', 4), 320, 760, 230)]);
    expect(text).toBe(`Full-width title line that runs across the page\n\n${left.join('\n')}\n\n${numbered('Right', 4).join('\n')}`);
  });

  test('a table beside full-width text keeps its rows: its cells stop short of a column width', () => {
    const rows = [['Name', 'Jane Doe'], ['Department', 'Finance'], ['Start date', '1 March 2024'], ['Manager', 'John Smith']];
    const { text } = page([
      ...block(['A full-width paragraph that runs across the page'], 50, 760, 500),
      ...rows.flatMap(([key, value], i) => [run(key!, 50, 736 - i * 12), run(value!, 320, 736 - i * 12)]),
      ...block(['Another full-width paragraph across the page'], 50, 680, 500),
    ]);
    expect(text).toContain(rows.map((r) => r.join(' ')).join('\n'));
  });

  test('a head and a footer in two parts with nothing between are read whole, above and below the columns', () => {
    const { text, lines } = page([
      run('ACME Engineering Handbook', 50, 760, 9),
      run('Chapter 2: Deployments', 440, 760, 9),
      ...block(numbered('Left', 8), 50, 720, 230),
      ...block(numbered('Right', 8), 320, 720, 230),
      run('Internal use only', 50, 40, 9),
      run('Page 7', 520, 40, 9),
    ]);
    expect(text).toBe(`ACME Engineering Handbook Chapter 2: Deployments\n\n${numbered('Left', 8).join('\n')}\n\n${numbered('Right', 8).join('\n')}\n\nInternal use only Page 7`);
    expect(lines.filter((l) => l.blockStart).map((l) => l.text)).toEqual(['ACME Engineering Handbook Chapter 2: Deployments', 'Left line 1', 'Right line 1', 'Internal use only Page 7']);
  });

  test('a word hyphenated at a line end is joined when the line below goes on in lowercase', () => {
    const { text, lines } = page([
      ...block(['Late reim-', 'bursement is refused; a well-', 'known rule. COVID-', '19 rules and Non-', 'Profit groups, self-service and x-', '-ray set-'], 50, 700, 300),
      run('up follows a gap.', 50, 600, 10, 300),
    ]);
    // Before a capital or a digit the hyphen stays, as it does within a line and before a gap.
    expect(text).toBe('Late reimbursement is refused; a wellknown rule. COVID-\n19 rules and Non-\nProfit groups, self-service and x-\n-ray set-\n\nup follows a gap.');
    // Each line's offset and text still point at its characters in the page's text.
    for (const line of lines) expect(text.slice(line.offset, line.offset + line.text.length)).toBe(line.text);
    expect(lines.map((l) => l.text)).toEqual(['Late reim', 'bursement is refused; a well', 'known rule. COVID-', '19 rules and Non-', 'Profit groups, self-service and x-', '-ray set-', 'up follows a gap.']);
  });
});

describe('PDF page layout of a real two-column PDF', () => {
  /** A two-column handbook page whose running head and footer have a left and a right part. */
  async function twoColumnPage(): Promise<Uint8Array> {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const pdfPage = doc.addPage([612, 792]);
    pdfPage.drawText('ACME Engineering Handbook', { x: 50, y: 760, size: 9, font });
    pdfPage.drawText('Chapter 2: Deployments', { x: 440, y: 760, size: 9, font });
    for (let i = 0; i < 8; i++) {
      pdfPage.drawText(`Left column sentence number ${i + 1} about builds.`, { x: 50, y: 720 - i * 14, size: 10, font });
      pdfPage.drawText(`Right column sentence number ${i + 1} on rollbacks.`, { x: 320, y: 720 - i * 14, size: 10, font });
    }
    pdfPage.drawText('Internal use only', { x: 50, y: 40, size: 9, font });
    pdfPage.drawText('Page 7', { x: 520, y: 40, size: 9, font });
    return doc.save();
  }

  test('the head and footer do not land between the columns, and no line starts with a space', async () => {
    const { text } = await parseDocument(await twoColumnPage(), 'application/pdf');
    const left = Array.from({ length: 8 }, (_, i) => `Left column sentence number ${i + 1} about builds.`);
    const right = Array.from({ length: 8 }, (_, i) => `Right column sentence number ${i + 1} on rollbacks.`);
    // One page: its head and footer stay, each read whole. pdf.js puts a space run between the
    // parts of each row, which fell to the right column and opened its lines.
    expect(text).toBe(`ACME Engineering Handbook Chapter 2: Deployments\n\n${left.join('\n')}\n\n${right.join('\n')}\n\nInternal use only Page 7`);
  });
});
