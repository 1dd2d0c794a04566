import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { ParseError } from './extracted-text.js';
import type { ParseLimits, ParsedDocument } from './parsed-document.js';
import { fromPages } from './parsed-document.js';

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
 * column, lines go top to bottom and runs left to right.
 */
export function orderPageText(items: Item[], pageWidth: number): string {
  const runs = items.filter((i) => i.str.length > 0);
  if (runs.length === 0) return '';
  const gutter = findGutter(runs, pageWidth);
  if (gutter === null) return linesOf(runs);
  const left = runs.filter((r) => r.x + r.w / 2 < gutter);
  const right = runs.filter((r) => r.x + r.w / 2 >= gutter);
  return `${linesOf(left)}\n\n${linesOf(right)}`;
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

function linesOf(runs: Item[]): string {
  const sorted = [...runs].sort((a, b) => b.y - a.y || a.x - b.x);
  const lines: { y: number; h: number; runs: Item[] }[] = [];
  for (const run of sorted) {
    const line = lines[lines.length - 1];
    const tolerance = Math.max(2, (line?.h ?? run.h) * 0.5);
    if (line && Math.abs(line.y - run.y) <= tolerance) line.runs.push(run);
    else lines.push({ y: run.y, h: run.h || 10, runs: [run] });
  }
  let out = '';
  let previous: { y: number; h: number } | null = null;
  for (const line of lines) {
    const text = joinRuns(line.runs.sort((a, b) => a.x - b.x));
    if (!text.trim()) continue;
    // A gap of more than ~1.6 line heights reads as a paragraph break.
    if (previous) out += previous.y - line.y > Math.max(previous.h, line.h) * 1.6 ? '\n\n' : '\n';
    out += text;
    previous = line;
  }
  return out;
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
 * Extracts each page with its number, in reading order. `isEvalSupported: false` keeps pdf.js from
 * compiling fonts with `eval` (CVE-2024-4367), since uploads are untrusted. Pages without a text
 * layer (scans) are reported, not failed: a document fails only when no page has text.
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
    let chars = 0;
    for (let num = 1; num <= doc.numPages; num++) {
      const page = await doc.getPage(num);
      const content = await page.getTextContent();
      const items: Item[] = [];
      for (const it of content.items) {
        if (!('str' in it)) continue;
        items.push({ str: it.str, x: it.transform[4] as number, y: it.transform[5] as number, w: it.width, h: it.height || Math.abs(it.transform[3] as number) });
      }
      const text = orderPageText(items, page.view[2]! - page.view[0]!);
      chars += text.length;
      if (chars > limits.maxChars) throw new ParseError(`The PDF has more than ${limits.maxChars} characters of text (the limit).`);
      pages.push({ num, text });
      page.cleanup();
      limits.onPage?.(num, doc.numPages);
    }
    return fromPages(pages, doc.numPages);
  } catch (error) {
    if (error instanceof ParseError) throw error;
    const reason = (error as Error)?.message ?? String(error);
    throw new ParseError(`The PDF could not be read: ${reason}`, { cause: error });
  } finally {
    await doc?.destroy().catch(() => undefined);
  }
}
