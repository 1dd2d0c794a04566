import { isSetextUnderline, type HeadingMark } from './markdown-headings.js';
import type { Span } from './recursive-spans.js';

/**
 * Where a heading's own lines end. findHeadings says so itself (a setext title may span lines);
 * marks from other parsers are one line, with a setext underline below it counted by the same rule.
 */
function headingEnd(text: string, mark: HeadingMark): number {
  if (mark.end !== undefined) return mark.end;
  const lineEnd = (from: number) => {
    const at = text.indexOf('\n', from);
    return at < 0 ? text.length : at;
  };
  const end = lineEnd(mark.offset);
  if (end < text.length) {
    const next = lineEnd(end + 1);
    if (isSetextUnderline(text.slice(end + 1, next))) return next;
  }
  return end;
}

const blank = (text: string, start: number, end: number) => text.slice(start, end).trim() === '';

/**
 * Where the headings that end `span` begin (the chunk's text after them is blank), or undefined when
 * it does not end with one. Headings in a row ("# Part" then "## Chapter") go together.
 */
/** The index of the first mark at or after `offset` (marks are in document order). */
function firstAtOrAfter(marks: HeadingMark[], offset: number): number {
  let lo = 0;
  let hi = marks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid]!.offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function trailingHeadingsAt(text: string, span: Span, marks: HeadingMark[]): number | undefined {
  let cut: number | undefined;
  let after = span.end;
  // From the last mark inside the span, found by bisection: a long document has one mark list for all its chunks.
  for (let i = firstAtOrAfter(marks, span.end) - 1; i >= 0; i--) {
    const mark = marks[i]!;
    if (mark.offset < span.start) break;
    if (!blank(text, headingEnd(text, mark), after)) break;
    cut = mark.offset;
    after = mark.offset;
  }
  return cut;
}

function trimEnd(text: string, start: number, end: number): number {
  while (end > start && /\s/.test(text[end - 1]!)) end--;
  return end;
}

/**
 * Splitters cut by size, not by meaning, so a heading often lands at the end of a chunk with nothing
 * under it, or alone in a chunk of its own: retrieved, such a chunk shows a title and no content,
 * and the chunk that holds the section's body has lost its title. Here a chunk's trailing headings
 * move to the start of the next chunk of the same segment, and a chunk of headings only joins the
 * next one. `mayGrow` says whether the next chunk may then exceed the size (by the headings'
 * length): sizes counted in tokens can be hard limits of an embedding model, so they are kept.
 */
export function keepHeadingsWithBodies(text: string, spans: Span[], marks: HeadingMark[], mayGrow: (span: Span) => boolean): Span[] {
  if (marks.length === 0 || spans.length < 2) return spans;
  const out: Span[] = [];
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    const next = spans[i + 1];
    const cut = next ? trailingHeadingsAt(text, span, marks) : undefined;
    if (next === undefined || cut === undefined) {
      out.push(span);
      continue;
    }
    const grown = { start: Math.min(next.start, cut), end: next.end };
    if (grown.start < next.start && !mayGrow(grown)) {
      out.push(span);
      continue;
    }
    spans[i + 1] = grown;
    const end = trimEnd(text, span.start, cut);
    if (end > span.start) out.push({ start: span.start, end });
  }
  return out;
}

/**
 * Where the text under a chunk's leading headings starts (the chunk's start when it starts with
 * text): a chunk opening with "# Leave" then "## Sick leave" is about sick leave, so its heading path
 * is read there.
 */
export function bodyOffset(text: string, span: Span, marks: HeadingMark[]): number {
  let at = span.start;
  for (let i = firstAtOrAfter(marks, span.start); i < marks.length; i++) {
    const mark = marks[i]!;
    if (mark.offset < at) continue;
    if (mark.offset >= span.end || !blank(text, at, mark.offset)) break;
    at = Math.min(headingEnd(text, mark), span.end);
  }
  return at;
}
