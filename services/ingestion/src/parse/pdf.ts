import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { ParseError, stripNul } from './extracted-text.js';
import type { ParseLimits, ParsedDocument } from './parsed-document.js';
import { fromPages } from './parsed-document.js';
import { inferHeadings, type PdfLine } from './pdf-headings.js';
import { outlineHeadings, readOutline } from './pdf-outline.js';

/** One positioned run of text from pdf.js (`transform[4..5]` is the baseline origin). */
interface Item {
  str: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Reading order for one page: pdf.js returns runs in content-stream order, which for two-column
 * layouts often interleaves the columns line by line. We look for a vertical gutter (a band no run
 * crosses, with enough text on both sides) and read the left column before the right; within a
 * column, lines go top to bottom and runs left to right. The lines come back too, with their type
 * size, for finding headings; their offsets count from the start of the page's text.
 */
export function layoutPage(items: Item[], pageWidth: number, page: number): { text: string; lines: PdfLine[] } {
  const runs = items.filter((i) => i.str.length > 0);
  const lines: PdfLine[] = [];
  if (runs.length === 0) return { text: '', lines };
  const gutter = findGutter(runs, pageWidth);
  if (gutter === null) return { text: linesOf(runs, { page, base: 0 }, lines), lines };
  const left = linesOf(runs.filter((r) => r.x + r.w / 2 < gutter), { page, base: 0 }, lines);
  const right = linesOf(runs.filter((r) => r.x + r.w / 2 >= gutter), { page, base: left.length + 2 }, lines);
  return { text: `${left}\n\n${right}`, lines };
}

function findGutter(runs: Item[], pageWidth: number): number | null {
  const textRuns = runs.filter((r) => r.str.trim().length > 0 && r.w > 0);
  if (textRuns.length < 6 || pageWidth <= 0) return null;
  const buckets = 100;
  const covered = new Array<number>(buckets).fill(0);
  for (const r of textRuns) {
    const a = Math.max(0, Math.floor((r.x / pageWidth) * buckets));
    const b = Math.min(buckets - 1, Math.floor(((r.x + r.w) / pageWidth) * buckets));
    for (let i = a; i <= b; i++) covered[i]! += 1;
  }
  // The widest empty band in the middle of the page, between two inked regions.
  let best: { start: number; len: number } | null = null;
  for (let i = 25; i < 75; i++) {
    if (covered[i] !== 0) continue;
    let j = i;
    while (j < 75 && covered[j] === 0) j++;
    if (!best || j - i > best.len) best = { start: i, len: j - i };
    i = j;
  }
  if (!best) return null;
  const gutter = ((best.start + best.len / 2) / buckets) * pageWidth;
  const leftLines = new Set(textRuns.filter((r) => r.x + r.w < gutter).map((r) => Math.round(r.y)));
  const rightLines = new Set(textRuns.filter((r) => r.x > gutter).map((r) => Math.round(r.y)));
  return leftLines.size >= 3 && rightLines.size >= 3 ? gutter : null;
}

/** The text of `runs` as lines; each line is also appended to `out`, its offset counted from `at.base`. */
function linesOf(runs: Item[], at: { page: number; base: number }, out: PdfLine[]): string {
  const sorted = [...runs].sort((a, b) => b.y - a.y || a.x - b.x);
  const lines: { y: number; h: number; runs: Item[] }[] = [];
  for (const run of sorted) {
    const line = lines[lines.length - 1];
    const tolerance = Math.max(2, (line?.h ?? run.h) * 0.5);
    if (line && Math.abs(line.y - run.y) <= tolerance) line.runs.push(run);
    else lines.push({ y: run.y, h: run.h || 10, runs: [run] });
  }
  let text = '';
  let previous: { y: number; h: number } | null = null;
  for (const line of lines) {
    const runsInOrder = line.runs.sort((a, b) => a.x - b.x);
    const lineText = joinRuns(runsInOrder);
    if (!lineText.trim()) continue;
    // A gap of more than ~1.6 line heights reads as a paragraph break.
    const gap = previous === null || previous.y - line.y > Math.max(previous.h, line.h) * 1.6;
    if (previous) text += gap ? '\n\n' : '\n';
    out.push({ page: at.page, offset: at.base + text.length, text: lineText, size: sizeOf(runsInOrder), y: line.y, blockStart: gap });
    text += lineText;
    previous = line;
  }
  return text;
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
  return text.replace(/\s+$/, '');
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
      throw new ParseError(`The PDF has ${doc.numPages} pages; the limit is ${limits.maxPages}.`);
    }
    const pages: { num: number; text: string }[] = [];
    const pageLines: PdfLine[][] = [];
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
      const { text, lines } = layoutPage(items, page.view[2]! - page.view[0]!, num);
      chars += text.length;
      if (chars > limits.maxChars) throw new ParseError(`The PDF has more than ${limits.maxChars} characters of text (the limit).`);
      pages.push({ num, text });
      pageLines.push(lines);
      page.cleanup();
      limits.onPage?.(num, doc.numPages);
    }
    const parsed = fromPages(pages, doc.numPages);
    const spans = parsed.pages!;
    // Page offsets become document offsets in place: a long PDF has hundreds of thousands of lines.
    pageLines.forEach((list, i) => list.forEach((l) => (l.offset += spans[i]!.start)));
    const lines = pageLines.flat();
    const outline = await readOutline(doc);
    parsed.headings = outline.length >= 2 ? outlineHeadings(outline, lines, spans) : inferHeadings(lines);
    return parsed;
  } catch (error) {
    if (error instanceof ParseError) throw error;
    const reason = (error as Error)?.message ?? String(error);
    throw new ParseError(`The PDF could not be read: ${reason}`, { cause: error });
  } finally {
    await doc?.destroy().catch(() => undefined);
  }
}
