import { LIMIT_SETTING, type FailedLimit } from '../limits.js';

/** A document's text as chunking sees it; every chunk offset points into `text`. */
export interface ExtractedText {
  text: string;
  /** Where each page lies in `text` (`end` exclusive); null for formats without pages. */
  pages: PageSpan[] | null;
}

export interface PageSpan {
  num: number;
  start: number;
  end: number;
}

/**
 * Stable codes of parse failures a person can act on; anything else is `parse_failed`.
 * `too_much_text`: more extracted text than `maxExtractedChars` (split the document, or raise the limit).
 */
export type ParseFailureCode = 'parse_failed' | 'password_protected' | 'too_much_text';

/** `limit`: the limit the file ran into, where that is the cause (stored with the failure: see FailedLimit). */
export class ParseError extends Error {
  readonly code: ParseFailureCode;
  readonly limit: FailedLimit | undefined;
  constructor(message: string, options: { cause?: unknown; code?: ParseFailureCode; limit?: FailedLimit | undefined } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ParseError';
    this.code = options.code ?? 'parse_failed';
    this.limit = options.limit;
  }
}

/** `what` (e.g. "The PDF") has more text than the limit allows. */
export function tooMuchTextError(what: string, maxChars: number): ParseError {
  return new ParseError(`${what} has more than ${maxChars} characters of text (the limit, ${LIMIT_SETTING.maxExtractedChars}).`, { code: 'too_much_text', limit: { name: 'maxExtractedChars', value: maxChars } });
}

/** Postgres text cannot hold NUL; PDF extraction sometimes yields them. */
export function stripNul(text: string): string {
  return text.includes('\u0000') ? text.replace(/\u0000/g, '') : text;
}

export const PAGE_SEPARATOR = '\n\n';

/** Joins pages with a blank line so splitters see a paragraph break between pages. */
export function joinPages(pages: { num: number; text: string }[]): ExtractedText {
  const spans: PageSpan[] = [];
  let text = '';
  for (const page of pages) {
    if (spans.length > 0) text += PAGE_SEPARATOR;
    const start = text.length;
    text += stripNul(page.text);
    spans.push({ num: page.num, start, end: text.length });
  }
  return { text, pages: spans };
}

/** The page holding character `offset`; the separator after a page counts toward that page. */
export function pageAt(pages: PageSpan[], offset: number): number {
  let found = pages[0]?.num ?? 1;
  for (const page of pages) {
    if (page.start > offset) break;
    found = page.num;
  }
  return found;
}
