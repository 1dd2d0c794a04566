/**
 * Running heads and footers ("ACME Corp Travel Policy - Confidential", "Page 3 of 12") that a PDF
 * repeats on every page. Left in the text, they open or close every chunk: they are embedded and
 * keyword-matched with each one, and a head above a page's first heading puts the chunk under the
 * section before. They are found conservatively, and only in documents of two pages or more:
 *
 * - at the page's top or bottom edge: the outermost line (by height on the page), or the next one
 *   in when the outermost is furniture too, within the outer eighth of the page, and set apart
 *   from the text inside it by a paragraph gap (a table's repeated header row runs on into its
 *   rows, so it stays);
 * - not in heading type (larger than the body text), which a real heading on top of a page may be;
 * - repeated at the same edge on most pages with text, reading the same but for digits; of those,
 *   the lines that are the very same on two pages or more ("Chapter 2: Deployments" atop chapter
 *   2), and those whose number keeps step with the page ("Page 3 of 12", "- 3 -").
 *
 * pdf-headings.ts keeps its own, wider test for heads that restart sections as headings (a chapter's
 * title atop the pages of that chapter only): those stay in the text.
 */

/** One laid-out line of a page, before it is placed in the document text. */
export interface PageLine {
  text: string;
  /** Font size of the line's longest run. */
  size: number;
  /** Baseline height on the page (PDF user space: larger is higher). */
  y: number;
  /** The line opens a block: a paragraph gap, or the top of a page or column, comes before it. */
  blockStart: boolean;
}

export interface LaidOutPage {
  num: number;
  lines: PageLine[];
  /** The page's top and bottom edges in user space (the view box). */
  top: number;
  bottom: number;
}

/** The share of the page's height, from either edge, where running heads and footers sit. */
const EDGE_BAND = 0.125;
/** How many lines in from each edge may be furniture (a footer line and a page number under it). */
const MAX_DEPTH = 2;
/** Numbers looked at in a line for the page number. */
const MAX_NUMBERS = 4;

type Edge = 'top' | 'bottom';

/** The running heads and footers of a document, to be left out of its text. */
export function runningFurniture(pages: LaidOutPage[]): Set<PageLine> {
  const out = new Set<PageLine>();
  const withText = pages.filter((p) => p.lines.some((l) => l.text.trim().length > 0));
  if (withText.length < 2) return out;
  const body = bodySize(withText);
  if (body === null) return out;
  // Most pages: more than half of those with text.
  const need = Math.floor(withText.length / 2) + 1;
  for (const edge of ['top', 'bottom'] as const) {
    const sides = withText.map((page) => ({ page, lines: edgeLines(page, edge, body) }));
    let active = sides;
    for (let depth = 0; depth < MAX_DEPTH && active.length >= need; depth++) {
      const groups = new Map<string, { page: number; line: PageLine }[]>();
      for (const side of active) {
        const line = side.lines[depth];
        if (!line) continue;
        const key = squeeze(line.text).replace(/\d+/g, '#');
        const group = groups.get(key);
        if (group) group.push({ page: side.page.num, line });
        else groups.set(key, [{ page: side.page.num, line }]);
      }
      const found = new Set<PageLine>();
      for (const group of groups.values()) if (group.length >= need) for (const line of repeated(group, need)) found.add(line);
      for (const line of found) out.add(line);
      active = active.filter((side) => side.lines[depth] !== undefined && found.has(side.lines[depth]!));
    }
  }
  return out;
}

/**
 * The lines at one edge of a page that may be furniture, outermost first: those in the edge band,
 * in heading type or not, up to MAX_DEPTH, each set apart from the next line in by a paragraph gap
 * or by another of these lines. Empty when the lines run on into the text without a gap.
 */
function edgeLines(page: LaidOutPage, edge: Edge, body: number): PageLine[] {
  const sorted = page.lines.filter((l) => l.text.trim().length > 0).sort((a, b) => (edge === 'top' ? b.y - a.y : a.y - b.y));
  const band = (page.top - page.bottom) * EDGE_BAND;
  const inBand = (l: PageLine) => (edge === 'top' ? l.y >= page.top - band : l.y <= page.bottom + band);
  const heading = (l: PageLine) => l.size >= body * 1.15 && l.size >= body + 1;
  const out: PageLine[] = [];
  for (let i = 0; i < sorted.length - 1 && i < MAX_DEPTH; i++) {
    const line = sorted[i]!;
    if (!inBand(line) || heading(line)) break;
    out.push(line);
    // The gap to the next line in ends the edge: what lies before it is the candidates.
    if (gapBetween(line, sorted[i + 1]!)) return out;
  }
  return [];
}

/** A gap of more than ~1.6 line heights between baselines (as pdf-layout.ts reads a paragraph break). */
function gapBetween(a: PageLine, b: PageLine): boolean {
  return Math.abs(a.y - b.y) > Math.max(a.size, b.size) * 1.6;
}

/**
 * The members of a group (lines at one edge that read the same but for digits, on `need` pages or
 * more) that repeat: the same line again ("ACME Handbook", or "Chapter 2: Deployments" atop each
 * page of chapter 2); and lines whose number keeps one step with the page number, when there are
 * `need` of them ("Page 3 of 12"). A line whose digits make it unlike every other ("Question 3"
 * atop page 3 alone) tells its page apart and stays.
 */
function repeated(group: { page: number; line: PageLine }[], need: number): PageLine[] {
  const texts = new Map<string, number>();
  for (const { line } of group) {
    const text = squeeze(line.text);
    texts.set(text, (texts.get(text) ?? 0) + 1);
  }
  const shiftsOf = ({ page, line }: { page: number; line: PageLine }) =>
    new Set((line.text.match(/\d+/g) ?? []).slice(0, MAX_NUMBERS).map((n) => Number(n) - page));
  const shifts = group.map(shiftsOf);
  const counts = new Map<number, number>();
  for (const set of shifts) for (const s of set) counts.set(s, (counts.get(s) ?? 0) + 1);
  let step: number | null = null;
  let best = 0;
  for (const [s, n] of counts) if (n > best) [step, best] = [s, n];
  const paged = step !== null && best >= need;
  return group.filter((m, i) => texts.get(squeeze(m.line.text))! >= 2 || (paged && shifts[i]!.has(step!))).map((m) => m.line);
}

/** The body type size: the size that sets the most characters (in half points). */
function bodySize(pages: LaidOutPage[]): number | null {
  const chars = new Map<number, number>();
  for (const page of pages) {
    for (const line of page.lines) {
      const key = Math.round(line.size * 2) / 2;
      chars.set(key, (chars.get(key) ?? 0) + line.text.length);
    }
  }
  let best: number | null = null;
  for (const [size, n] of chars) if (best === null || n > chars.get(best)! || (n === chars.get(best)! && size < best)) best = size;
  return best !== null && best > 0 ? best : null;
}

function squeeze(s: string): string {
  return s.trim().toLowerCase().replace(/\s+/g, ' ');
}
