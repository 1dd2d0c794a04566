import type { HeadingMark } from '../chunk/markdown-headings.js';
import { joinPages, type ExtractedText } from './extracted-text.js';

/** What a parser hands to chunking; it crosses the worker boundary, so it is plain data. */
export interface ParsedDocument extends ExtractedText {
  pagesTotal: number | null;
  /** Markdown-like text: `#` headings give chunks their heading path (Markdown, HTML, DOCX). */
  markdown: boolean;
  /**
   * Headings the parser found itself (PDF: outline, type sizes, section numbers), offsets into
   * `text`; they give chunks their heading path where the text has no `#` lines.
   */
  headings?: HeadingMark[];
  /** CSV: one row per line, chunked by rows and never split inside a row. */
  rows: boolean;
  /** Pages without a text layer that paint an image (scans; blank pages are not among them). */
  scannedPages: number[];
  warnings: string[];
}

export interface ParseLimits {
  maxPages: number;
  /** Most characters of extracted text. */
  maxChars: number;
  /** DOCX (ZIP): most entries and most uncompressed bytes in total, checked before inflating. */
  maxZipEntries: number;
  maxUncompressedBytes: number;
  onPage?: (page: number, total: number) => void;
}

/** `blank`: a page without text that shows nothing else either (PDF), which is not reported as scanned. */
export function fromPages(pages: { num: number; text: string; blank?: boolean }[], pagesTotal: number): ParsedDocument {
  const scannedPages = pages.filter((p) => p.text.trim().length === 0 && !p.blank).map((p) => p.num);
  const warnings =
    scannedPages.length > 0 && scannedPages.length < pages.length
      ? [`${scannedPages.length} page(s) have no text layer (scanned?) and were skipped: ${scannedPages.slice(0, 20).join(', ')}${scannedPages.length > 20 ? ', ...' : ''}.`]
      : [];
  return { ...joinPages(pages), pagesTotal, markdown: false, rows: false, scannedPages, warnings };
}

export function fromText(text: string, kind: { markdown?: boolean; rows?: boolean } = {}): ParsedDocument {
  return { text, pages: null, pagesTotal: null, markdown: kind.markdown ?? false, rows: kind.rows ?? false, scannedPages: [], warnings: [] };
}
