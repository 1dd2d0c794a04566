/**
 * Heading paths for PDFs, which have no `#` lines to find. The outline (bookmarks) is the author's
 * own structure, so it wins when the document has one. Otherwise headings come from the text
 * layer: lines set larger than the body text, and numbered section lines ("3.2 Results",
 * "Chapter 4", "Appendix A") that pass conservative checks.
 *
 * Bold type is not used as a signal. pdf.js's text content names fonts only by opaque ids
 * ("g_d0_f1"). The real names ("Helvetica-Bold") come only with the page's operator list, which
 * adds about half again to the extraction time (6.5 ms on 11-14 ms a page for the bench corpus).
 */
import type { HeadingMark } from '../chunk/markdown-headings.js';

/** One line of a page as pdf.ts laid it out, placed in the document text. */
export interface PdfLine {
  page: number;
  /** Offset of the line's first character in the document text. */
  offset: number;
  text: string;
  /** Font size of the line's longest run (user-space units: points at scale 1). */
  size: number;
  /** Baseline height on the page (PDF user space: larger is higher). */
  y: number;
  /** The line opens a block: a paragraph gap, or the top of a page or column, comes before it. */
  blockStart: boolean;
}

/** "3.2 Results", "3.2. Results", "A.1 Tables": the number, then a title that starts with a capital. */
const NUMBERED = /^(?:(\d{1,2}(?:\.\d{1,2}){0,5})|([A-Z])((?:\.\d{1,2}){1,5}))\.?\s+(\S.*)$/u;
/** "Chapter 4", "Chapter IV: Results", "Appendix A - Data"; the rest, if any, starts with a capital. */
const KEYWORD = /^(Chapter|CHAPTER|Appendix|APPENDIX|Annex|ANNEX)\s+(\d{1,3}|[IVXLC]{1,7}|[A-Z])(?=$|[\s:.\u2013\u2014-])\s*[:.\u2013\u2014-]?\s*(.*)$/u;
/** Any line that opens with a number, for spotting numbered lists and tables of contents. */
const NUMBER_LED = /^(?:\d{1,3}(?:\.\d{1,3})*[.):]?|[A-Z](?:\.\d{1,3})+\.?|(?:chapter|appendix|annex)\s+\S+)(?:\s|$)/iu;
const NUMERIC_TOKEN = /^[(\-+$€£]*\d[\d.,:%)]*$/u;
const YEAR = /^(?:19|20)\d\d$/;
/** Appendix letters number apart from chapters: "Appendix A" is [1000], "A.1" is [1000, 1]. */
const LETTER_BASE = 1000;

const MAX_HEADING_CHARS = 120;
const MAX_HEADING_WORDS = 16;
const MAX_HEADING_LINES = 3;

interface Candidate {
  offset: number;
  title: string;
  size: number;
  /** Section number ("3.2" -> [3, 2]); absent for unnumbered headings. */
  key?: number[];
  /** Found by its type size (a strong signal) rather than by its numbering alone. */
  bySize: boolean;
  /** A "Chapter 4" / "Appendix A" line: the keyword is evidence enough. */
  keyword: boolean;
  /** Level from the numbering or the keyword; unnumbered headings get one from their size. */
  level?: number;
}

/** Headings inferred from the text layer when there is no usable outline. */
export function inferHeadings(lines: PdfLine[]): HeadingMark[] {
  const body = bodySize(lines);
  if (body === null) return [];
  // A heading is set at least 15% and a point larger than the body: over 11 pt text, 13 pt is a
  // heading size and 12 pt (emphasis, a slightly larger lead paragraph) is not.
  const isLarge = (size: number) => size >= body * 1.15 && size >= body + 1;
  const furniture = runningLines(lines, isLarge);
  const listed = numberedRuns(lines);
  const candidates: Candidate[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (furniture.has(i)) continue;
    if (isLarge(line.size)) {
      // Lines of one heading size with no gap between them are one (wrapped) heading, and a large
      // paragraph (a pull quote) merges into one long block that the length rule turns away.
      let j = i + 1;
      let text = line.text.trim();
      while (j < lines.length && lines[j]!.page === line.page && !lines[j]!.blockStart && sameSize(lines[j]!.size, line.size)) {
        if (text.length <= MAX_HEADING_CHARS) text += ` ${lines[j]!.text.trim()}`;
        j++;
      }
      const block = j - i;
      i = j - 1;
      // Text of a heading size that starts lowercase or runs on is display text, not a heading.
      if (block > MAX_HEADING_LINES || /^\p{Ll}/u.test(text)) continue;
      const numbered = numbering(text);
      if (!headingText(numbered ? numbered.rest : text, false)) continue;
      candidates.push({ offset: line.offset, title: cleanTitle(text), size: line.size, bySize: true, keyword: numbered?.keyword ?? false, key: numbered?.key, level: numbered?.level });
      continue;
    }
    const numbered = numbering(line.text.trim());
    if (!numbered || !headingText(numbered.rest, true)) continue;
    // Numbered lines in a run (a numbered list, a table of contents without page numbers) are items.
    if (listed.has(i)) continue;
    // Footnotes ("1 Data from the survey") are set smaller than the body.
    if (line.size < body * 0.95) continue;
    // A wrapped sentence can put a number and a capital at the start of a line ("... within the
    // first / 12 Months of service"); the line before then ends mid-sentence with no gap.
    const previous = lines[i - 1];
    if (!line.blockStart && previous && previous.page === line.page && sameSize(previous.size, line.size) && /[\p{Ll},-]$/u.test(previous.text.trim())) continue;
    candidates.push({ offset: line.offset, title: cleanTitle(line.text), size: line.size, bySize: false, keyword: numbered.keyword, key: numbered.key, level: numbered.level });
  }
  // A numbered line in body type is a heading only when the numbering around it agrees: another
  // candidate is its parent, child or neighbour ("3.1" near "3.2" or "3"). A lone "12 Months" or
  // "2 Pears" is not. Chapter and appendix lines carry their own evidence and need no neighbour.
  const accepted = candidates.filter((c, i) => c.bySize || c.keyword || hasNeighbour(candidates, i));
  assignSizeLevels(accepted);
  return withoutRepeats(accepted.map((c) => ({ offset: c.offset, level: c.level!, title: c.title })));
}

/** The body type size: the size that sets the most characters. */
function bodySize(lines: PdfLine[]): number | null {
  const chars = new Map<number, number>();
  for (const line of lines) {
    const key = Math.round(line.size * 2) / 2;
    chars.set(key, (chars.get(key) ?? 0) + line.text.length);
  }
  let best: number | null = null;
  for (const [size, n] of chars) if (best === null || n > chars.get(best)! || (n === chars.get(best)! && size < best)) best = size;
  return best !== null && best > 0 ? best : null;
}

function sameSize(a: number, b: number): boolean {
  return Math.abs(a - b) <= 0.5;
}

/**
 * Running heads and footers, among each page's first and last lines, in groups that read the same
 * but for their digits and sit on at least three pages. As headings they would restart a section
 * on every page. Two kinds count: the same line again ("3 Methods" atop every page of chapter 3),
 * where the first stays a candidate since a chapter's opening page often starts with its real
 * heading; and a number that keeps step with the page ("Quire manual 7", "8 Quire manual"), a
 * page number. Chapters that differ only in their number ("Chapter 3", "Chapter 4") are neither,
 * nor are lines in heading type whose number keeps step with the page: with running heads and
 * footers out of the text (pdf-furniture.ts), a document of one short section a page opens each
 * page with its heading ("2. Section 2" on page 2).
 */
function runningLines(lines: PdfLine[], isLarge: (size: number) => boolean): Set<number> {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < lines.length; i++) {
    const first = i === 0 || lines[i - 1]!.page !== lines[i]!.page;
    const last = i === lines.length - 1 || lines[i + 1]!.page !== lines[i]!.page;
    if (!first && !last) continue;
    const key = squeeze(lines[i]!.text).replace(/\d+/g, '#');
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  }
  const out = new Set<number>();
  for (const group of groups.values()) {
    if (new Set(group.map((i) => lines[i]!.page)).size < 3) continue;
    const shifts = group.map((i) => {
      const n = /\d+/.exec(lines[i]!.text)?.[0];
      return n === undefined ? null : Number(n) - lines[i]!.page;
    });
    if (shifts[0] !== null && shifts.every((s) => s === shifts[0]) && !group.every((i) => isLarge(lines[i]!.size))) {
      for (const i of group) out.add(i);
      continue;
    }
    const seen = new Set<string>();
    for (const i of group) {
      const text = squeeze(lines[i]!.text);
      if (seen.has(text)) out.add(i);
      seen.add(text);
    }
  }
  return out;
}

function squeeze(s: string): string {
  return s.trim().toLowerCase().replace(/\s+/g, ' ');
}

/**
 * Lines that belong to a run of number-led lines: three or more in a row (a list, a table of
 * contents, a numbered table), or two in a row numbered one after the other at the same depth
 * ("1 Apples" / "2 Pears"). A real heading is followed by its text, not by the next heading.
 */
function numberedRuns(lines: PdfLine[]): Set<number> {
  const out = new Set<number>();
  let i = 0;
  while (i < lines.length) {
    if (!NUMBER_LED.test(lines[i]!.text.trim())) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < lines.length && lines[j]!.page === lines[i]!.page && NUMBER_LED.test(lines[j]!.text.trim())) j++;
    if (j - i >= 3) for (let k = i; k < j; k++) out.add(k);
    else if (j - i === 2) {
      const a = numbering(lines[i]!.text.trim())?.key;
      const b = numbering(lines[i + 1]!.text.trim())?.key;
      if (a && b && a.length === b.length && a.slice(0, -1).join('.') === b.slice(0, -1).join('.') && b[b.length - 1]! - a[a.length - 1]! === 1) {
        out.add(i);
        out.add(i + 1);
      }
    }
    i = j;
  }
  return out;
}

/** The section number and level of a numbered line, and the title text after the number. */
function numbering(text: string): { key: number[]; level: number; rest: string; keyword: boolean } | null {
  const keyword = KEYWORD.exec(text);
  if (keyword) {
    const rest = keyword[3]!;
    // "Chapter 4 describes the method" is a sentence; a chapter title starts with a capital.
    if (rest && !/^[\p{Lu}\p{N}]/u.test(rest)) return null;
    const word = keyword[1]!.toLowerCase();
    const id = keyword[2]!;
    const n = /^\d+$/.test(id) ? Number(id) : word === 'chapter' ? roman(id) : null;
    const key = word === 'chapter' ? (n === null ? null : [n]) : [LETTER_BASE + (n !== null ? n - 1 : id.toUpperCase().charCodeAt(0) - 65)];
    // The keyword line is a title in itself ("Chapter 4"), so the rest may be empty.
    return key ? { key, level: 1, rest: rest || keyword[1]!, keyword: true } : null;
  }
  const m = NUMBERED.exec(text);
  if (!m) return null;
  const rest = m[4]!;
  if (!/^\p{Lu}/u.test(rest)) return null;
  const key = m[1] !== undefined ? m[1].split('.').map(Number) : [LETTER_BASE + m[2]!.charCodeAt(0) - 65, ...m[3]!.slice(1).split('.').map(Number)];
  return { key, level: key.length, rest, keyword: false };
}

function roman(s: string): number | null {
  const values: Record<string, number> = { i: 1, v: 5, x: 10, l: 50, c: 100 };
  let total = 0;
  const lower = s.toLowerCase();
  for (let i = 0; i < lower.length; i++) {
    const v = values[lower[i]!]!;
    const next = values[lower[i + 1] ?? ''] ?? 0;
    total += v < next ? -v : v;
  }
  return total > 0 ? total : null;
}

/**
 * Whether a line's title text reads like a heading: short, with words, not a sentence (it would
 * end with a period), not a lead-in (a colon) and not a contents line (dot leaders). In body type
 * (`strict`) it must not look like a table row or a contents line either: numbers after the words
 * ("2 North 120 130", "3.2 Results 11"), though a year may close a title ("Results for 2023").
 * Larger type is evidence enough for "Release 2" or "Phase 2 of 3".
 */
function headingText(text: string, strict: boolean): boolean {
  const t = text.trim();
  if (t.length < 2 || t.length > MAX_HEADING_CHARS) return false;
  if (/[.,;:]$/.test(t) || /\.{3,}|…/.test(t)) return false;
  if ((t.match(/\p{L}/gu)?.length ?? 0) < 2) return false;
  const words = t.split(/\s+/);
  if (words.length > MAX_HEADING_WORDS) return false;
  if (!strict) return true;
  const numeric = words.filter((w) => NUMERIC_TOKEN.test(w));
  const last = words[words.length - 1]!;
  if (numeric.length >= 2) return false;
  if (NUMERIC_TOKEN.test(last) && !YEAR.test(last)) return false;
  return true;
}

/** Whether candidate `i`'s number continues from, or is continued by, another nearby candidate. */
function hasNeighbour(candidates: Candidate[], i: number): boolean {
  const key = candidates[i]!.key!;
  const window = 40;
  for (let j = Math.max(0, i - window); j < Math.min(candidates.length, i + window + 1); j++) {
    const other = candidates[j]!.key;
    if (j === i || !other) continue;
    if (j < i ? follows(other, key) : follows(key, other)) return true;
  }
  return false;
}

/**
 * Whether section `next` can come after section `prev`: its first child (3 -> 3.1), or the next
 * section at some level ("3.2" -> "3.3", "4" or "4.1"), allowing one missed number (3.2 -> 3.4).
 */
function follows(prev: number[], next: number[]): boolean {
  if (next.length === prev.length + 1 && next[next.length - 1] === 1 && prev.every((n, k) => next[k] === n)) return true;
  for (let k = 0; k < prev.length && k < next.length; k++) {
    if (next[k] !== prev[k]) {
      const step = next[k]! - prev[k]!;
      return (step === 1 || step === 2) && next.slice(k + 1).every((n) => n === 1);
    }
  }
  return false;
}

/**
 * Levels for headings known only by their size. Numbered headings pin levels to sizes ("3 Methods"
 * at 16 pt is level 1); an unnumbered heading of a pinned size takes that level, and the other
 * sizes are spaced between the pinned ones, larger above. With no numbering, the largest size is
 * level 1, the next 2, and so on. Levels need not be whole: a title larger than the chapters sits
 * at 0.5, above them.
 */
function assignSizeLevels(candidates: Candidate[]): void {
  const sizeKey = (s: number) => Math.round(s * 2) / 2;
  const pinned = new Map<number, number>();
  for (const c of candidates) {
    if (c.level === undefined) continue;
    const k = sizeKey(c.size);
    pinned.set(k, Math.min(pinned.get(k) ?? Infinity, c.level));
  }
  const sizes = [...new Set(candidates.filter((c) => c.level === undefined).map((c) => sizeKey(c.size)))].filter((k) => !pinned.has(k));
  const all = [...new Set([...sizes, ...pinned.keys()])].sort((a, b) => b - a);
  const levelOf = new Map(pinned);
  for (let i = 0; i < all.length; ) {
    if (levelOf.has(all[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j < all.length && !levelOf.has(all[j]!)) j++;
    const below = j < all.length ? levelOf.get(all[j]!)! : undefined;
    const above = i > 0 ? levelOf.get(all[i - 1]!)! : below !== undefined ? below - 1 : 0;
    const floor = below !== undefined && below > above ? below : above + (j - i) + 1;
    for (let k = i; k < j; k++) levelOf.set(all[k]!, above + ((floor - above) * (k - i + 1)) / (j - i + 1));
    i = j;
  }
  for (const c of candidates) if (c.level === undefined) c.level = levelOf.get(sizeKey(c.size))!;
}

/** Drops a heading that repeats one already in force (a running head, a title split by a page). */
export function withoutRepeats(marks: HeadingMark[]): HeadingMark[] {
  const out: HeadingMark[] = [];
  const stack: HeadingMark[] = [];
  for (const mark of marks) {
    const title = normalized(mark.title);
    if (stack.some((m) => normalized(m.title) === title)) continue;
    while (stack.length > 0 && stack[stack.length - 1]!.level >= mark.level) stack.pop();
    stack.push(mark);
    out.push(mark);
  }
  return out;
}

export function cleanTitle(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 200);
}

export function normalized(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}
