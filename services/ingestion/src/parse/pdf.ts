import { PDFParse } from 'pdf-parse';
import { joinPages, ParseError, type ExtractedText } from './extracted-text.js';

/**
 * Extracts each page's text with its page number. `isEvalSupported: false` keeps pdf.js from
 * compiling fonts with `eval` (CVE-2024-4367), since uploads are untrusted.
 */
export async function parsePdf(bytes: Uint8Array): Promise<ExtractedText & { pagesTotal: number }> {
  // pdf.js detaches the buffer it is given; copy so the caller's bytes stay usable.
  const parser = new PDFParse({ data: new Uint8Array(bytes), isEvalSupported: false });
  try {
    const result = await parser.getText();
    const pages = [...result.pages].sort((a, b) => a.num - b.num).map((p) => ({ num: p.num, text: p.text }));
    return { ...joinPages(pages), pagesTotal: result.total };
  } catch (error) {
    const reason = (error as Error)?.message ?? String(error);
    throw new ParseError(`The PDF could not be read: ${reason}`, { cause: error });
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}
