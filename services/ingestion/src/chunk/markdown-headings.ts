/** A Markdown heading and where it starts in the document text. */
export interface HeadingMark {
  offset: number;
  level: number;
  title: string;
}

const ATX = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** ATX (`## Title`) and setext (`Title` over `===`) headings, skipping fenced code blocks. */
export function findHeadings(text: string): HeadingMark[] {
  const marks: HeadingMark[] = [];
  let offset = 0;
  let fence: string | null = null;
  let previous: { offset: number; line: string } | null = null;
  for (const line of text.split('\n')) {
    const fenceMatch = FENCE.exec(line);
    if (fence) {
      if (fenceMatch && fenceMatch[1]!.startsWith(fence)) fence = null;
    } else if (fenceMatch) {
      fence = fenceMatch[1]!;
    } else {
      const atx = ATX.exec(line);
      const setext = SETEXT.exec(line);
      if (atx && atx[2]!.trim()) {
        marks.push({ offset, level: atx[1]!.length, title: atx[2]!.trim() });
      } else if (setext && previous && previous.line.trim() && !/^\s*([-*+]|\d+\.)\s/.test(previous.line)) {
        marks.push({ offset: previous.offset, level: setext[1]!.startsWith('=') ? 1 : 2, title: previous.line.trim() });
      }
    }
    previous = { offset, line };
    offset += line.length + 1;
  }
  return marks;
}

/** The headings in force at `offset`: a chunk that starts with a heading is under that heading. */
export function headingPathAt(marks: HeadingMark[], offset: number): string[] {
  const stack: HeadingMark[] = [];
  for (const mark of marks) {
    if (mark.offset > offset) break;
    while (stack.length > 0 && stack[stack.length - 1]!.level >= mark.level) stack.pop();
    stack.push(mark);
  }
  return stack.map((m) => m.title);
}
