/**
 * Headings from a PDF's outline (bookmarks): the author's own structure, so pdf.ts prefers it to the
 * headings inferred from the text layer (pdf-headings.ts) when it places headings on the pages.
 */
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { HeadingMark } from '../chunk/markdown-headings.js';
import type { PageSpan } from './extracted-text.js';
import { cleanTitle, normalized, withoutRepeats, type PdfLine } from './pdf-headings.js';

/** An outline entry whose destination resolved to a page. */
export interface OutlineEntry {
  title: string;
  /** 1 for top-level bookmarks. */
  level: number;
  page: number;
  /** The destination's top edge on the page (XYZ / FitH), when it names one. */
  top: number | null;
}

/** Outline entries on one page whose title is looked for among its lines (the rest start at the top edge). */
const MAX_SEARCHED_ENTRIES_PER_PAGE = 64;
/** Bounds the destination lookups a hostile outline can ask for. */
const MAX_OUTLINE_NODES = 5000;
const MAX_OUTLINE_DEPTH = 16;

interface OutlineNode {
  title: string;
  dest: string | unknown[] | null;
  items: OutlineNode[];
}

/** The outline, flattened in document order, keeping entries whose destination is a page of this document. */
export async function readOutline(doc: PDFDocumentProxy): Promise<OutlineEntry[]> {
  const outline = (await doc.getOutline().catch(() => null)) as OutlineNode[] | null;
  if (!outline || outline.length === 0) return [];
  const entries: OutlineEntry[] = [];
  const pageIndexes = new Map<string, number | null>();
  let visited = 0;
  const walk = async (nodes: OutlineNode[], level: number): Promise<void> => {
    for (const node of nodes) {
      if (++visited > MAX_OUTLINE_NODES) return;
      const title = cleanTitle(node.title ?? '');
      const target = await resolveDestination(doc, node.dest, pageIndexes);
      if (title && target) entries.push({ title, level, ...target });
      if (level < MAX_OUTLINE_DEPTH && Array.isArray(node.items) && node.items.length > 0) await walk(node.items, level + 1);
    }
  };
  await walk(outline, 1);
  return entries;
}

async function resolveDestination(doc: PDFDocumentProxy, dest: OutlineNode['dest'], pageIndexes: Map<string, number | null>): Promise<{ page: number; top: number | null } | null> {
  try {
    const explicit = typeof dest === 'string' ? await doc.getDestination(dest) : dest;
    if (!Array.isArray(explicit) || explicit.length === 0) return null;
    const ref: unknown = explicit[0];
    let index: number | null = null;
    if (typeof ref === 'number') {
      // Some writers put a page index where a page reference belongs.
      index = ref;
    } else if (ref && typeof ref === 'object' && 'num' in ref && 'gen' in ref) {
      const r = ref as { num: number; gen: number };
      const key = `${r.num} ${r.gen}`;
      if (!pageIndexes.has(key)) pageIndexes.set(key, await doc.getPageIndex(r).catch(() => null));
      index = pageIndexes.get(key) ?? null;
    }
    if (index === null || !Number.isInteger(index) || index < 0 || index >= doc.numPages) return null;
    // [page, /XYZ, left, top, zoom] and [page, /FitH | /FitBH, top] name the top edge of the view.
    const kind = (explicit[1] as { name?: string } | undefined)?.name;
    const top: unknown = kind === 'XYZ' ? explicit[3] : kind === 'FitH' || kind === 'FitBH' ? explicit[2] : null;
    return { page: index + 1, top: typeof top === 'number' && Number.isFinite(top) ? top : null };
  } catch {
    return null;
  }
}

/**
 * Places outline entries in the text: on the destination page, at the line that reads like the
 * title (at or below the destination's top edge when there is one). When no line matches, the
 * entry starts at the first line below that top edge, or at the top of its page.
 */
export function outlineHeadings(entries: OutlineEntry[], lines: PdfLine[], pages: PageSpan[]): HeadingMark[] {
  // Each line normalised once: a hostile outline aims thousands of entries at one page of many lines.
  const byPage = new Map<number, { line: PdfLine; norm: string }[]>();
  for (const line of lines) {
    const item = { line, norm: normalized(line.text) };
    const list = byPage.get(line.page);
    if (list) list.push(item);
    else byPage.set(line.page, [item]);
  }
  const pageStart = new Map(pages.map((p) => [p.num, p.start]));
  const searched = new Map<number, number>();
  const marks: HeadingMark[] = [];
  for (const entry of entries) {
    const start = pageStart.get(entry.page);
    if (start === undefined) continue;
    const onPage = byPage.get(entry.page) ?? [];
    const below = entry.top === null ? onPage : onPage.filter((l) => l.line.y <= entry.top! + l.line.size);
    const count = (searched.get(entry.page) ?? 0) + 1;
    searched.set(entry.page, count);
    let hit: PdfLine | undefined;
    // Past a real document's share of bookmarks on one page, entries are not looked for in its lines.
    if (count <= MAX_SEARCHED_ENTRIES_PER_PAGE) {
      const want = normalized(entry.title);
      const exact = (l: { norm: string }) => l.norm === want;
      // A title wrapped over two lines: the first line is a prefix of the title.
      const prefix = ({ norm }: { norm: string }) => norm.length > 0 && (norm.startsWith(want) || (norm.length >= 4 && want.startsWith(norm)));
      hit = (below.find(exact) ?? below.find(prefix) ?? onPage.find(exact))?.line;
    }
    const offset = hit?.offset ?? (entry.top !== null ? below[0]?.line.offset : undefined) ?? start;
    marks.push({ offset, level: entry.level, title: entry.title });
  }
  // Array#sort is stable: a parent and its first child at the same offset keep their order.
  return withoutRepeats(marks.sort((a, b) => a.offset - b.offset));
}
