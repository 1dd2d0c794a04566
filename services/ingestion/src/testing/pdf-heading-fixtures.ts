import { PDFDict, PDFDocument, PDFHexString, PDFName, type PDFRef, StandardFonts } from 'pdf-lib';

/** A line of a generated page: plain text is body text (11 pt). */
export type FixtureLine =
  | string
  | {
      text: string;
      /** Type size in points (default 11). */
      size?: number;
      /** A paragraph gap before the line. */
      gap?: boolean;
      /** Adds a bookmark at this line, at this outline level (1 = top). */
      outline?: number;
    };

interface Bookmark {
  title: string;
  page: PDFRef;
  top: number;
  level: number;
  children: Bookmark[];
}

/**
 * A real PDF with headings: lines of any type size, drawn top down with line spacing (or a
 * paragraph gap), and optionally an outline whose entries point at their lines (/XYZ destinations).
 */
export async function makeStructuredPdf(pages: FixtureLine[][]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const roots: Bookmark[] = [];
  const open: Bookmark[] = [];
  for (const lines of pages) {
    const page = doc.addPage([612, 792]);
    let y = 760;
    let previousSize = 0;
    for (const raw of lines) {
      const line = typeof raw === 'string' ? { text: raw } : raw;
      const size = line.size ?? 11;
      const lead = Math.max(size, previousSize);
      if (previousSize > 0) y -= line.gap ? lead * 2.2 : lead * 1.3;
      else y -= size;
      page.drawText(line.text, { x: 50, y, size, font });
      previousSize = size;
      if (line.outline) {
        const mark: Bookmark = { title: line.text, page: page.ref, top: y + size, level: line.outline, children: [] };
        while (open.length > 0 && open[open.length - 1]!.level >= mark.level) open.pop();
        (open.length > 0 ? open[open.length - 1]!.children : roots).push(mark);
        open.push(mark);
      }
    }
  }
  if (roots.length > 0) addOutline(doc, roots);
  return doc.save();
}

/** Writes the /Outlines tree (PDF 32000-1, 12.3.3): each level a linked list under its parent. */
function addOutline(doc: PDFDocument, roots: Bookmark[]): void {
  const ctx = doc.context;
  const outlinesRef = ctx.nextRef();
  const writeLevel = (marks: Bookmark[], parent: PDFRef): { first: PDFRef; last: PDFRef; count: number } => {
    const refs = marks.map(() => ctx.nextRef());
    let count = 0;
    marks.forEach((mark, i) => {
      const dict = ctx.obj({}) as PDFDict;
      dict.set(PDFName.of('Title'), PDFHexString.fromText(mark.title));
      dict.set(PDFName.of('Parent'), parent);
      dict.set(PDFName.of('Dest'), ctx.obj([mark.page, 'XYZ', null, mark.top, null]));
      if (i > 0) dict.set(PDFName.of('Prev'), refs[i - 1]!);
      if (i < marks.length - 1) dict.set(PDFName.of('Next'), refs[i + 1]!);
      count += 1;
      if (mark.children.length > 0) {
        const sub = writeLevel(mark.children, refs[i]!);
        dict.set(PDFName.of('First'), sub.first);
        dict.set(PDFName.of('Last'), sub.last);
        dict.set(PDFName.of('Count'), ctx.obj(sub.count));
        count += sub.count;
      }
      ctx.assign(refs[i]!, dict);
    });
    return { first: refs[0]!, last: refs[refs.length - 1]!, count };
  };
  const top = writeLevel(roots, outlinesRef);
  ctx.assign(outlinesRef, ctx.obj({ Type: 'Outlines', First: top.first, Last: top.last, Count: top.count }));
  doc.catalog.set(PDFName.of('Outlines'), outlinesRef);
}
