import { getDocument, OPS, type PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { LIMIT_SETTING } from '../limits.js';
import { ParseError, stripNul, tooMuchTextError } from './extracted-text.js';
import type { ParseLimits, ParsedDocument } from './parsed-document.js';
import { fromPages } from './parsed-document.js';
import { type LaidOutPage, type PageLine, runningFurniture } from './pdf-furniture.js';
import { inferHeadings, type PdfLine } from './pdf-headings.js';
import { type Item, type Line, paragraphGap, readingOrder } from './pdf-layout.js';
import { outlineHeadings, readOutline } from './pdf-outline.js';

/**
 * Lays out one page (pdf-layout.ts): within a column or a stretch of full-width text, lines go top
 * to bottom and runs left to right. The lines come back too, with their type size, for finding
 * headings; their offsets count from the start of the page's text.
 */
export function layoutPage(items: Item[], pageWidth: number, page: number): { text: string; lines: PdfLine[] } {
  return placeLines(pageLines(items, pageWidth), page);
}

/** One page's lines in reading order, each with its type size and whether it opens a block. */
export function pageLines(items: Item[], pageWidth: number): PageLine[] {
  const runs = items.filter((i) => i.str.length > 0);
  const lines: PageLine[] = [];
  for (const flow of readingOrder(runs, pageWidth)) {
    let previous: Line | null = null;
    for (const line of flow) {
      const runsInOrder = [...line.runs].sort((a, b) => a.x - b.x);
      const lineText = joinRuns(runsInOrder);
      if (!lineText) continue;
      // Each column, and the full-width text after one, opens a block.
      lines.push({ text: lineText, size: sizeOf(runsInOrder), y: line.y, blockStart: previous === null || paragraphGap(previous, line) });
      previous = line;
    }
  }
  return lines;
}

/** A word broken at a line end: a lowercase letter, then a hyphen (or a soft hyphen). */
const HYPHENATED = /\p{Ll}[-\u00AD\u2010]$/u;
const LOWERCASE_START = /^\p{Ll}/u;

/**
 * A page's text from its lines: a line break within a block, a blank line between blocks. Lines in
 * `left` (running heads and footers, pdf-furniture.ts) are left out; the line after them opens a
 * block. A word hyphenated at a line end ("reim-" over "bursement") is joined without the hyphen
 * when the next line, in the same block, goes on in lowercase; a compound before a capital or a
 * digit ("COVID-" over "19") keeps it. Each line's offset and text stay those of its characters in
 * the page's text (a joined line's text loses its hyphen; the next line's starts mid-word).
 */
export function placeLines(pageLinesInOrder: PageLine[], page: number, left?: ReadonlySet<PageLine>): { text: string; lines: PdfLine[] } {
  const lines: PdfLine[] = [];
  let text = '';
  let skippedBlock = false;
  for (const line of pageLinesInOrder) {
    if (left?.has(line)) {
      skippedBlock = true;
      continue;
    }
    const previous = lines[lines.length - 1];
    const blockStart = previous === undefined || line.blockStart || skippedBlock;
    skippedBlock = false;
    if (previous && !blockStart && HYPHENATED.test(previous.text) && LOWERCASE_START.test(line.text)) {
      text = text.slice(0, -1);
      previous.text = previous.text.slice(0, -1);
    } else if (previous) text += blockStart ? '\n\n' : '\n';
    lines.push({ page, offset: text.length, text: line.text, size: line.size, y: line.y, blockStart });
    text += line.text;
  }
  return { text, lines };
}

/** A line's type size: that of its longest run (a footnote mark or a drop cap does not count). */
function sizeOf(runs: Item[]): number {
  let longest = runs[0]!;
  for (const run of runs) if (run.str.length > longest.str.length) longest = run;
  return longest.h;
}

function joinRuns(runs: Item[]): string {
  let text = '';
  let end: number | null = null;
  for (const run of runs) {
    const needsSpace = end !== null && run.x - end > Math.max(1, run.h * 0.15) && !text.endsWith(' ') && !run.str.startsWith(' ');
    text += (needsSpace ? ' ' : '') + run.str;
    end = run.x + run.w;
  }
  // A whitespace run between columns goes with one of them: no line starts or ends with space.
  return text.trim();
}

const IMAGE_OPS = new Set<number>([
  OPS.paintImageXObject, OPS.paintInlineImageXObject, OPS.paintImageMaskXObject, OPS.paintImageXObjectRepeat,
  OPS.paintImageMaskXObjectRepeat, OPS.paintInlineImageXObjectGroup, OPS.paintImageMaskXObjectGroup, OPS.paintSolidColorImageMask,
]);

/**
 * Whether a page without text paints an image: then it is likely a scan (text a person can read and
 * search cannot), while a page that paints none is blank and nothing was missed. Asked only of
 * pages without text: the operator list costs 0.3 ms on a blank page, a few ms on a full-page scan.
 */
async function paintsImage(page: PDFPageProxy): Promise<boolean> {
  const ops = await page.getOperatorList();
  return ops.fnArray.some((fn) => IMAGE_OPS.has(fn));
}

/**
 * Extracts each page with its number, in reading order, and the headings chunks cite: from the
 * outline when it has at least two entries that land on pages, otherwise inferred from type sizes
 * and section numbers (pdf-headings.ts). `isEvalSupported: false` keeps pdf.js from compiling
 * fonts with `eval` (CVE-2024-4367), since uploads are untrusted. Pages without a text layer
 * (scans) are reported, not failed: a document fails only when no page has text.
 */
export async function parsePdf(bytes: Uint8Array, limits: ParseLimits): Promise<ParsedDocument> {
  let doc: Awaited<ReturnType<typeof getDocument>['promise']> | undefined;
  try {
    // pdf.js detaches the buffer it is given; copy so the caller's bytes stay usable.
    doc = await getDocument({ data: new Uint8Array(bytes), isEvalSupported: false, useSystemFonts: false, verbosity: 0, stopAtErrors: false }).promise;
    if (doc.numPages > limits.maxPages) {
      throw new ParseError(`The PDF has ${doc.numPages} pages; the limit is ${limits.maxPages} (${LIMIT_SETTING.maxPages}).`, { limit: { name: 'maxPages', value: limits.maxPages } });
    }
    const pages: { num: number; text: string; blank?: boolean }[] = [];
    const laidOut: LaidOutPage[] = [];
    const pageLineLists: PdfLine[][] = [];
    let chars = 0;
    for (let num = 1; num <= doc.numPages; num++) {
      const page = await doc.getPage(num);
      const content = await page.getTextContent();
      const items: Item[] = [];
      for (const it of content.items) {
        if (!('str' in it)) continue;
        // NULs go before layout (joinPages would drop them later) so line offsets stay true.
        items.push({ str: stripNul(it.str), x: it.transform[4] as number, y: it.transform[5] as number, w: it.width, h: it.height || Math.abs(it.transform[3] as number) });
      }
      const [x0, y0, x1, y1] = page.view as [number, number, number, number];
      const lines = pageLines(items, x1 - x0);
      const placed = placeLines(lines, num);
      chars += placed.text.length;
      if (chars > limits.maxChars) throw tooMuchTextError('The PDF', limits.maxChars);
      pages.push(placed.text.trim() === '' && !(await paintsImage(page)) ? { num, text: placed.text, blank: true } : { num, text: placed.text });
      laidOut.push({ num, lines, top: Math.max(y0, y1), bottom: Math.min(y0, y1) });
      pageLineLists.push(placed.lines);
      page.cleanup();
      limits.onPage?.(num, doc.numPages);
    }
    // Running heads and footers are left out of the text; a page of nothing else is then blank, not
    // a scan. Pages keep their numbers, and spans and line offsets come from the text as it is.
    const furniture = runningFurniture(laidOut);
    if (furniture.size > 0) {
      laidOut.forEach((page, i) => {
        if (!page.lines.some((line) => furniture.has(line))) return;
        const placed = placeLines(page.lines, page.num, furniture);
        pages[i] = placed.text.trim() === '' ? { num: page.num, text: placed.text, blank: true } : { num: page.num, text: placed.text };
        pageLineLists[i] = placed.lines;
      });
    }
    const parsed = fromPages(pages, doc.numPages);
    const spans = parsed.pages!;
    // Page offsets become document offsets in place: a long PDF has hundreds of thousands of lines.
    pageLineLists.forEach((list, i) => list.forEach((l) => (l.offset += spans[i]!.start)));
    const lines = pageLineLists.flat();
    const outline = await readOutline(doc);
    parsed.headings = outline.length >= 2 ? outlineHeadings(outline, lines, spans) : inferHeadings(lines);
    return parsed;
  } catch (error) {
    if (error instanceof ParseError) throw error;
    // pdf.js asks for the user password of an encrypted PDF (an owner password alone, which only
    // restricts printing or copying, opens without one).
    if ((error as Error)?.name === 'PasswordException') {
      throw new ParseError('The PDF is protected by a password, so its text cannot be read. Upload a copy saved without the password.', { code: 'password_protected', cause: error });
    }
    const reason = (error as Error)?.message ?? String(error);
    throw new ParseError(`The PDF could not be read: ${reason}`, { cause: error });
  } finally {
    await doc?.destroy().catch(() => undefined);
  }
}
