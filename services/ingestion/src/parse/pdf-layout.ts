/**
 * Reading order for one PDF page. pdf.js returns runs in content-stream order, which for
 * two-column layouts often interleaves the columns line by line, so the page is laid out from
 * positions: runs make lines, lines make bands (XY-cut style: a line that crosses the middle of the
 * page, such as a full-width heading or paragraph, ends a band), and a band with a vertical gutter
 * is read left column, then right column. Bands go top to bottom.
 */

/** One positioned run of text from pdf.js (`transform[4..5]` is the baseline origin). */
export interface Item {
  str: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Runs that share a baseline; `y` and `h` are the baseline and size of its main (longest) run. */
export interface Line {
  y: number;
  h: number;
  runs: Item[];
}

/** A column, or a stretch of full-width text: the lines that read one after another. */
export type Flow = Line[];

/**
 * The page's lines in reading order, as flows. A band without a gutter joins the full-width flow
 * above it; a band with one gives two flows, its left and right columns. The page's top and bottom
 * lines, set apart from the text by a paragraph gap (a running head, a footer: often a left and a
 * right part with nothing between them), are flows of their own, so they are never cut at a gutter
 * and read between the columns.
 */
export function readingOrder(runs: Item[], pageWidth: number): Flow[] {
  const { head, body, foot } = pageEdges(groupLines(runs));
  const edges = [head, foot].filter((line): line is Line => line !== null);
  // An edge line across the page's middle was a band of its own before edges were set apart: the
  // columns still stand beside full-width text, so they must still look like columns of text.
  const flows = bodyOrder(body, pageWidth, edges.some((line) => crossesMiddle(line, pageWidth)));
  return [...(head ? [[head]] : []), ...flows, ...(foot ? [[foot]] : [])];
}

/**
 * The page's first and last lines when a paragraph gap sets each apart from the rest (a page of
 * three lines or more, so one is left between them). A column's first row has no gap under it, so
 * columns are not cut up.
 */
function pageEdges(lines: Line[]): { head: Line | null; body: Line[]; foot: Line | null } {
  const n = lines.length;
  if (n < 3) return { head: null, body: lines, foot: null };
  const head = paragraphGap(lines[0]!, lines[1]!) ? lines[0]! : null;
  const foot = paragraphGap(lines[n - 2]!, lines[n - 1]!) ? lines[n - 1]! : null;
  return { head, body: lines.slice(head ? 1 : 0, foot ? n - 1 : n), foot };
}

function crossesMiddle(line: Line, pageWidth: number): boolean {
  return pageWidth <= 0 || !freeMiddle(line.runs, pageWidth).some(Boolean);
}

/** `besideText`: full-width text (an edge line across the middle) stands beside the lines. */
function bodyOrder(lines: Line[], pageWidth: number, besideText: boolean): Flow[] {
  const bands = splitBands(lines, pageWidth);
  const flows: Flow[] = [];
  let open: Flow | null = null;
  for (let b = 0; b < bands.length; b++) {
    const band = bands[b]!;
    const bandRuns = band.flatMap((line) => line.runs);
    const gutter = findGutter(bandRuns, pageWidth);
    const left = gutter === null ? [] : groupLines(bandRuns.filter((r) => r.x + r.w / 2 < gutter));
    const right = gutter === null ? [] : groupLines(bandRuns.filter((r) => r.x + r.w / 2 >= gutter));
    // A page with no full-width line keeps the plain gutter test; a band beside full-width text
    // must also look like columns of text, not a table within the text.
    if (gutter === null || ((bands.length > 1 || besideText) && !textColumns(left, right))) {
      if (!open) flows.push((open = []));
      // A loop, not push(...band): one band can hold more lines than a call takes arguments.
      for (const line of band) open.push(line);
      continue;
    }
    const lead = open ? headOfColumns(left, right, open[open.length - 1]!) : [];
    open?.push(...lead);
    const foot = footOfColumns(left, right, bands[b + 1]?.[0]);
    flows.push(left, right);
    open = foot.length > 0 ? foot : null;
    if (open) flows.push(open);
  }
  return flows;
}

/** A gap of more than ~1.6 line heights between baselines reads as a paragraph break. */
export function paragraphGap(above: Line, below: Line): boolean {
  return above.y - below.y > Math.max(above.h, below.h) * 1.6;
}

/**
 * Runs grouped into lines, top to bottom. A run joins the line above it when their baselines are
 * within half the smaller type size, or when one is a superscript or subscript of the other (the
 * line so far may be only a mark): set at most 80% as large, and shifted by at most 80% of its own
 * size. The line's baseline follows its longest run, so a footnote mark that sorts first (it sits
 * higher) does not decide where the line is and then turn the real line away.
 */
function groupLines(runs: Item[]): Line[] {
  const sorted = [...runs].sort((a, b) => b.y - a.y || a.x - b.x);
  const lines: (Line & { main: Item })[] = [];
  for (const run of sorted) {
    const line = lines[lines.length - 1];
    if (line && onLine(run, line)) {
      line.runs.push(run);
      if (weight(run) > weight(line.main)) Object.assign(line, { main: run, y: run.y, h: run.h || 10 });
    } else lines.push({ y: run.y, h: run.h || 10, runs: [run], main: run });
  }
  return lines.map(({ y, h, runs: lineRuns }) => ({ y, h, runs: lineRuns }));
}

function onLine(run: Item, line: Line): boolean {
  const dy = Math.abs(run.y - line.y);
  const h = run.h || line.h;
  const small = Math.min(h, line.h);
  if (dy <= Math.max(2, small * 0.5)) return true;
  return small <= Math.max(h, line.h) * 0.8 && dy <= small * 0.8;
}

/** Characters, spaces aside, then size: a run of spaces or a mark never leads a line of words. */
function weight(run: Item): number {
  return run.str.trim().length * 1000 + run.h;
}

const BUCKETS = 100;
/** Where a gutter may lie, in hundredths of the page width. */
const MIDDLE = { from: 25, to: 75 };

function textRuns(runs: Item[]): Item[] {
  return runs.filter((r) => r.str.trim().length > 0 && r.w > 0);
}

/** The buckets of the page's middle that no text run of `runs` covers. */
function freeMiddle(runs: Item[], pageWidth: number): boolean[] {
  const free = new Array<boolean>(BUCKETS).fill(true);
  for (const r of textRuns(runs)) {
    const a = Math.max(0, Math.floor((r.x / pageWidth) * BUCKETS));
    const b = Math.min(BUCKETS - 1, Math.floor(((r.x + r.w) / pageWidth) * BUCKETS));
    for (let i = a; i <= b; i++) free[i] = false;
  }
  return free.map((f, i) => f && i >= MIDDLE.from && i < MIDDLE.to);
}

/**
 * Lines top to bottom, cut into bands: a band runs on while some part of the page's middle stays
 * free of text in all its lines, so a line that crosses every possible gutter is a band of its own.
 */
function splitBands(lines: Line[], pageWidth: number): Line[][] {
  const bands: Line[][] = [];
  let free: boolean[] = [];
  for (const line of lines) {
    const own = pageWidth > 0 ? freeMiddle(line.runs, pageWidth) : [];
    const shared = free.map((f, i) => f && own[i]!);
    if (bands.length > 0 && shared.some(Boolean)) {
      bands[bands.length - 1]!.push(line);
      free = shared;
    } else {
      bands.push([line]);
      free = own;
    }
  }
  return bands;
}

/** A vertical gutter: the widest stretch of the middle that no run crosses, with text on both sides. */
function findGutter(runs: Item[], pageWidth: number): number | null {
  const inked = textRuns(runs);
  if (inked.length < 6 || pageWidth <= 0) return null;
  const free = freeMiddle(inked, pageWidth);
  let best: { start: number; len: number } | null = null;
  for (let i = MIDDLE.from; i < MIDDLE.to; i++) {
    if (!free[i]) continue;
    let j = i;
    while (j < MIDDLE.to && free[j]) j++;
    if (!best || j - i > best.len) best = { start: i, len: j - i };
    i = j;
  }
  if (!best) return null;
  const gutter = ((best.start + best.len / 2) / BUCKETS) * pageWidth;
  const leftLines = new Set(inked.filter((r) => r.x + r.w < gutter).map((r) => Math.round(r.y)));
  const rightLines = new Set(inked.filter((r) => r.x > gutter).map((r) => Math.round(r.y)));
  return leftLines.size >= 3 && rightLines.size >= 3 ? gutter : null;
}

/**
 * Whether two sides of a gutter read as columns of text. Beside full-width text, a gutter may as
 * well split a table, a form or a list of figures, which read far better row by row. Columns of
 * text are of like widths, most of their lines run out to the column's edge, and the gutter is
 * narrow next to them; a table's cells stop short, and its columns are often far apart.
 */
function textColumns(left: Line[], right: Line[]): boolean {
  const a = extent(left);
  const b = extent(right);
  if (!a || !b) return false;
  const narrower = Math.min(a.width, b.width);
  return b.start - a.end <= narrower * 0.2 && narrower >= Math.max(a.width, b.width) * 0.6 && a.filled >= 0.6 && b.filled >= 0.6;
}

function extent(lines: Line[]): { start: number; end: number; width: number; filled: number } | null {
  // Loops, not Math.min(...runs): a hostile page can put a great many runs on one line.
  const ends: number[] = [];
  let start = Infinity;
  for (const line of lines) {
    let end = -Infinity;
    for (const r of textRuns(line.runs)) {
      start = Math.min(start, r.x);
      end = Math.max(end, r.x + r.w);
    }
    if (end > -Infinity) ends.push(end);
  }
  if (ends.length === 0) return null;
  const end = ends.reduce((a, b) => Math.max(a, b));
  const width = end - start;
  return { start, end, width, filled: ends.filter((e) => e >= end - width * 0.15).length / ends.length };
}

/**
 * Lines at the head of a column, above the top of the other one, that end the full-width text
 * before the band: the short last line of a paragraph leaves the middle free, so it joins the
 * band, but read as the column's first line it would cut its paragraph in two. They follow that
 * text in its type size with no paragraph gap; a heading over the column does not.
 */
function headOfColumns(left: Line[], right: Line[], previous: Line): Line[] {
  const top = Math.min(left[0]!.y, right[0]!.y);
  const higher = left[0]!.y > top ? left : right;
  let above = previous;
  let i = 0;
  while (i < higher.length && higher[i]!.y > top + 1 && Math.abs(higher[i]!.h - above.h) <= 0.5 && !paragraphGap(above, higher[i]!)) above = higher[i++]!;
  return i < higher.length ? higher.splice(0, i) : [];
}

/**
 * Lines at the foot of the longer column, below the end of the shorter one, that belong with the
 * full-width text after the band: a heading over that text sits in the left half of the page, so
 * it joins the band, but is read after the right column. They run on to the next band with no
 * paragraph gap and start at a line set in another size than the column's text. A column that
 * simply runs on (the last page of a paper) ends at the page's foot or before a gap, and keeps
 * its lines; so does one whose last lines are only a new paragraph in its own type.
 */
function footOfColumns(left: Line[], right: Line[], next: Line | undefined): Line[] {
  if (!next) return [];
  const end = Math.max(left[left.length - 1]!.y, right[right.length - 1]!.y);
  const longer = left[left.length - 1]!.y < end ? left : right;
  const below = longer.findIndex((line) => line.y < end - 1);
  if (below <= 0 || paragraphGap(longer[longer.length - 1]!, next)) return [];
  let tight = longer.length - 1;
  while (tight > below && !paragraphGap(longer[tight - 1]!, longer[tight]!)) tight--;
  const body = bodyHeight(longer);
  const start = longer.findIndex((line, i) => i >= tight && Math.abs(line.h - body) > 0.5);
  return start > 0 ? longer.splice(start) : [];
}

/** The type size that sets the most characters of `lines`. */
function bodyHeight(lines: Line[]): number {
  const chars = new Map<number, number>();
  for (const line of lines) chars.set(line.h, (chars.get(line.h) ?? 0) + line.runs.reduce((n, r) => n + r.str.length, 0));
  return [...chars].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
}
