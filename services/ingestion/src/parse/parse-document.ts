import { decodeText, type SupportedMime } from '../upload/detect-type.js';
import { parseCsv } from './csv.js';
import { parseDocx } from './docx.js';
import { ParseError, tooMuchTextError } from './extracted-text.js';
import { parseHtml } from './html.js';
import { fromText, type ParseLimits, type ParsedDocument } from './parsed-document.js';
import { parsePdf } from './pdf.js';

export type { ParsedDocument, ParseLimits } from './parsed-document.js';

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxPages: 2000,
  maxChars: 20_000_000,
  maxZipEntries: 2000,
  maxUncompressedBytes: 100 * 1024 * 1024,
};

/** UTF-8, or UTF-16 with a byte order mark (detectType accepts both). */
function textOf(bytes: Uint8Array): string {
  const text = decodeText(bytes);
  if (text === undefined) throw new ParseError('The document is not valid UTF-8 or UTF-16 text.');
  return text.replace(/^\uFEFF/, '');
}

function capped(doc: ParsedDocument, limits: ParseLimits): ParsedDocument {
  if (doc.text.length > limits.maxChars) throw tooMuchTextError('The document', limits.maxChars);
  return doc;
}

/** Runs inside the parse worker (see parse-pool.ts); never call it on the service's own thread. */
export async function parseDocument(bytes: Uint8Array, mime: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Promise<ParsedDocument> {
  switch (mime as SupportedMime) {
    case 'application/pdf':
      return parsePdf(bytes, limits);
    case 'application/vnd.openxmlformats-officedocument.wordprocessingml.document':
      return capped(parseDocx(bytes, limits), limits);
    case 'text/html':
      return capped(parseHtml(textOf(bytes)), limits);
    case 'text/csv':
      return capped(parseCsv(textOf(bytes)), limits);
    case 'text/markdown':
    case 'text/plain':
      return capped(fromText(textOf(bytes), { markdown: mime === 'text/markdown' }), limits);
    default:
      throw new ParseError(`No parser for ${mime}.`);
  }
}
