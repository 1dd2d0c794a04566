import type { SectionMark } from '@quire/contracts';
import type { HeadingMark } from './markdown-headings.js';

/** Where a chunk enters another section (stored in `chunks.marks`): `SectionMarkSchema` in @quire/contracts. */
export type { SectionMark };

/** The heading path in force from each heading on, in one walk (headingPathAt per heading would be quadratic). */
export function headingPaths(marks: readonly HeadingMark[]): string[][] {
  const stack: HeadingMark[] = [];
  return marks.map((mark) => {
    while (stack.length > 0 && stack[stack.length - 1]!.level >= mark.level) stack.pop();
    stack.push(mark);
    return stack.map((m) => m.title);
  });
}

function firstAfter(marks: readonly HeadingMark[], offset: number): number {
  let lo = 0;
  let hi = marks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid]!.offset <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The sections a chunk runs into after the one it is filed under: headings after `from` (the offset
 * its own heading path is taken at, past the headings it opens with) and before `end`. A chunk of
 * 1,000 characters often spans two or three short sections, and a citation of its last sentence must
 * name the section that sentence is in. Undefined when the chunk stays in one section.
 */
export function sectionMarks(marks: readonly HeadingMark[], paths: readonly string[][], span: { start: number; end: number }, from: number): SectionMark[] | undefined {
  const out: SectionMark[] = [];
  for (let i = firstAfter(marks, from); i < marks.length && marks[i]!.offset < span.end; i++) {
    out.push({ at: marks[i]!.offset - span.start, heading_path: paths[i]! });
  }
  return out.length > 0 ? out : undefined;
}
