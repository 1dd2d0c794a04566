import type { SupportedMime } from '../upload/detect-type.js';
import { decodeUtf8 } from '../upload/detect-type.js';
import { ParseError, type ExtractedText } from './extracted-text.js';
import { parsePdf } from './pdf.js';

export interface ParsedDocument extends ExtractedText {
  pagesTotal: number | null;
  markdown: boolean;
}

export async function parseDocument(bytes: Uint8Array, mime: string): Promise<ParsedDocument> {
  switch (mime as SupportedMime) {
    case 'application/pdf': {
      const pdf = await parsePdf(bytes);
      return { ...pdf, markdown: false };
    }
    case 'text/markdown':
    case 'text/plain': {
      const text = decodeUtf8(bytes);
      if (text === undefined) throw new ParseError('The document is not valid UTF-8 text.');
      return { text, pages: null, pagesTotal: null, markdown: mime === 'text/markdown' };
    }
    default:
      throw new ParseError(`No parser for ${mime}.`);
  }
}
