import { MarkdownTextSplitter, RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import type { Chunking } from '@quire/contracts';
import { embeddingInput, embeddingKey } from '../embed/embedding-input.js';
import { pageAt, type ExtractedText } from '../parse/extracted-text.js';
import { findHeadings, headingPathAt, type HeadingMark } from './markdown-headings.js';
import { bodyOffset, keepHeadingsWithBodies } from './heading-anchors.js';
import { headingPaths, sectionMarks, type SectionMark } from './section-marks.js';
import { findTables, makeRoomForHeaders, tableHeaderAt } from './markdown-tables.js';
import { splitRecursiveSpans, type Span } from './recursive-spans.js';
import { tokenLength } from './token-length.js';

export interface ChunkDraft {
  ordinal: number;
  /** Exactly the extracted text between the offsets: citations and highlights point into it. */
  text: string;
  /**
   * What the text cannot be read without, kept apart from it: a chunk that starts inside a table,
   * past its header, gets the header and delimiter rows. Embedded and shown above the text; absent
   * for most chunks.
   */
  context?: string;
  /** The embedding cache key: SHA-256 of the embedding input (of the text alone without context; see embedding-input.ts). */
  contentSha256: string;
  charStart: number;
  charEnd: number;
  pageStart: number | null;
  pageEnd: number | null;
  /** The headings in force where the chunk's text begins (past any headings it opens with). */
  headingPath: string[];
  /** Where the text runs into later sections (see section-marks.ts); absent when it stays in one. */
  sections?: SectionMark[];
}

export class ChunkingError extends Error {
  override name = 'ChunkingError';
}

/**
 * Where `piece` sits in `text`. Splitters keep characters but trim whitespace, so each chunk is a
 * substring; searching from just before the previous chunk's end (minus the overlap) keeps
 * repeated passages from matching an earlier copy.
 */
function locate(text: string, piece: string, from: number, floor: number): number {
  const at = text.indexOf(piece, Math.max(from, floor));
  if (at >= 0) return at;
  return text.indexOf(piece, floor);
}

interface TextSplitter {
  splitText(text: string): Promise<string[]>;
}

/** CSV rows stay whole: rows are packed into chunks up to the size; only an oversized row is split. */
function rowSplitter(size: number, measure: (s: string) => number, fallback: TextSplitter): TextSplitter {
  return {
    async splitText(text) {
      const out: string[] = [];
      let current = '';
      for (const row of text.split('\n')) {
        if (!row.trim()) continue;
        const joined = current ? `${current}\n${row}` : row;
        if (measure(joined) <= size) {
          current = joined;
          continue;
        }
        if (current) out.push(current);
        current = '';
        if (measure(row) <= size) current = row;
        else out.push(...(await fallback.splitText(row)));
      }
      if (current) out.push(current);
      return out;
    },
  };
}

/**
 * Splits extracted text with the collection's chunking settings. `markdown` applies to
 * Markdown-like documents (Markdown, HTML, DOCX); `tokens` counts sizes in cl100k tokens; CSV keeps
 * rows whole. PDF pages are split one at a time, so a chunk never crosses a page and a citation
 * names exactly one page (small pages give small chunks; accuracy wins). A chunk's heading path
 * comes from the parser's own headings when it found some (PDF), else from `#` lines in
 * Markdown-like text; it spans pages, so a section begun on page 11 still heads page 12's chunks.
 * Headings are kept with the text under them (heading-anchors.ts), and a chunk that opens with
 * headings takes its path from below them. A chunk that starts inside a Markdown table, past its
 * header, carries the header as its `context` (markdown-tables.ts); its text stays the plain slice.
 */
export async function chunkText(doc: ExtractedText & { markdown: boolean; rows?: boolean; headings?: HeadingMark[] }, chunking: Chunking): Promise<ChunkDraft[]> {
  const tokens = chunking.strategy === 'tokens';
  const measure = tokens ? tokenLength : (s: string) => s.length;
  const options = { chunkSize: chunking.chunk_size, chunkOverlap: chunking.chunk_overlap, lengthFunction: measure };
  // `tokens` splits on offsets (see recursive-spans.ts): each piece is tokenized once, no chunk search.
  const tokenSpans = (text: string) => splitRecursiveSpans(text, { chunkSize: chunking.chunk_size, chunkOverlap: chunking.chunk_overlap, measure });
  const recursive: TextSplitter = tokens
    ? { splitText: async (text) => tokenSpans(text).map((s) => text.slice(s.start, s.end)) }
    : new RecursiveCharacterTextSplitter(options);
  const splitter: TextSplitter = doc.rows
    ? rowSplitter(chunking.chunk_size, measure, recursive)
    : chunking.strategy === 'markdown' && doc.markdown
      ? new MarkdownTextSplitter(options)
      : recursive;
  const headings = doc.headings ?? (doc.markdown ? findHeadings(doc.text) : []);
  const paths = headingPaths(headings);
  const tables = doc.markdown && !doc.rows ? findTables(doc.text) : [];
  // Like headings moved onto a chunk (mayGrow below), a header may not take a chunk sized in tokens
  // over the size: that can be the embedding model's hard limit on an input. Such chunks inside a
  // table are cut smaller to make room (makeRoomForHeaders); this catches what that could not fit.
  const inputFits = tokens ? (input: string) => measure(input) <= chunking.chunk_size : () => true;
  const segments = doc.pages ? doc.pages.map((p) => ({ start: p.start, end: p.end })) : [{ start: 0, end: doc.text.length }];
  const drafts: ChunkDraft[] = [];
  const draft = (start: number, end: number) => {
    const text = doc.text.slice(start, end);
    const header = tableHeaderAt(tables, start);
    const context = header !== undefined && inputFits(embeddingInput({ text, context: header })) ? header : undefined;
    const from = bodyOffset(doc.text, { start, end }, headings);
    const sections = sectionMarks(headings, paths, { start, end }, from);
    drafts.push({
      ordinal: drafts.length,
      text,
      ...(context !== undefined ? { context } : {}),
      contentSha256: embeddingKey({ text, context: context ?? null }),
      charStart: start,
      charEnd: end,
      pageStart: doc.pages ? pageAt(doc.pages, start) : null,
      pageEnd: doc.pages ? pageAt(doc.pages, end - 1) : null,
      headingPath: headingPathAt(headings, from),
      ...(sections ? { sections } : {}),
    });
  };
  const mayGrow = tokens ? (span: Span) => measure(doc.text.slice(span.start, span.end)) <= chunking.chunk_size : () => true;
  for (const segment of segments) {
    const part = doc.text.slice(segment.start, segment.end);
    const spans: Span[] = [];
    if (tokens && !doc.rows) {
      for (const span of tokenSpans(part)) spans.push({ start: segment.start + span.start, end: segment.start + span.end });
    } else {
      const pieces = (await splitter.splitText(part)).filter((p) => p.trim().length > 0);
      let prevStart = -1;
      let prevEnd = 0;
      for (const piece of pieces) {
        const local = locate(part, piece, prevEnd - (tokens ? piece.length : chunking.chunk_overlap) - 1, prevStart + 1);
        if (local < 0) throw new ChunkingError(`Chunk ${drafts.length + spans.length} could not be located in the extracted text.`);
        spans.push({ start: segment.start + local, end: segment.start + local + piece.length });
        prevStart = local;
        prevEnd = local + piece.length;
      }
    }
    const fitted = tokens ? makeRoomForHeaders(doc.text, spans, tables, { chunkSize: chunking.chunk_size, measure }) : spans;
    for (const span of doc.rows ? fitted : keepHeadingsWithBodies(doc.text, fitted, headings, mayGrow)) draft(span.start, span.end);
  }
  return drafts;
}
