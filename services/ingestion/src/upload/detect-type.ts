import { AppError } from '@quire/server-kit';

export const DOCX_MIME = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
export type SupportedMime = 'application/pdf' | typeof DOCX_MIME | 'text/html' | 'text/csv' | 'text/markdown' | 'text/plain';

export interface DetectedType {
  mime: SupportedMime;
}

const MARKDOWN_EXT = /\.(md|markdown|mdown|mkd)$/i;
const MARKDOWN_HEADING = /^#{1,6}[ \t]+\S/m;

// Common binary formats people try to upload, so the refusal can say what the file looked like.
const KNOWN_BINARY: { magic: number[]; what: string }[] = [
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a ZIP archive (e.g. .docx, .xlsx, .pptx)' },
  { magic: [0x89, 0x50, 0x4e, 0x47], what: 'a PNG image' },
  { magic: [0xff, 0xd8, 0xff], what: 'a JPEG image' },
  { magic: [0x47, 0x49, 0x46, 0x38], what: 'a GIF image' },
  { magic: [0xd0, 0xcf, 0x11, 0xe0], what: 'a legacy Office file (e.g. .doc, .xls)' },
  { magic: [0x1f, 0x8b], what: 'a gzip archive' },
];

const SUPPORTED = 'Supported types: PDF, Word (.docx), HTML, CSV, Markdown (.md) and UTF-8 plain text (.txt).';

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

export function isPdf(bytes: Uint8Array): boolean {
  // Readers accept the header anywhere in the first 1024 bytes, but a text file may merely mention
  // it: a header after other bytes counts only when those bytes are not plain text.
  const head = Buffer.from(bytes.subarray(0, 1024)).toString('latin1');
  const at = head.indexOf('%PDF-');
  if (at < 0) return false;
  if (head.slice(0, at).trim() === '') return true;
  return decodeUtf8(bytes.subarray(0, at)) === undefined;
}

/** Decodes strictly: undefined when the bytes are not UTF-8 or contain NUL (binary, or UTF-16). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A ZIP whose central directory names word/document.xml (OOXML word processing). */
export function isDocx(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return false;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('word/document.xml');
}

export function looksLikeHtml(text: string): boolean {
  const head = text.slice(0, 2048).replace(/^\uFEFF/, '').trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html') || /^(<!--[\s\S]*?-->\s*)*<(html|head|body)\b/.test(head);
}

/** By name or declared type, confirmed by the content: at least two lines with the same delimiter count. */
export function looksLikeCsv(text: string, filename?: string | null, declaredMime?: string | null): boolean {
  const named = (filename && /\.(csv|tsv)$/i.test(filename)) || (declaredMime && /^text\/(csv|tab-separated-values)\b/i.test(declaredMime));
  if (!named) return false;
  const lines = text.split(/\r?\n/, 3).filter((l) => l.trim());
  return lines.length >= 2 && [',', ';', '\t', '|'].some((d) => lines[0]!.split(d).length > 1);
}

export function looksLikeMarkdown(text: string, filename?: string | null, declaredMime?: string | null): boolean {
  if (filename && MARKDOWN_EXT.test(filename)) return true;
  if (declaredMime && /^text\/(x-)?markdown\b/i.test(declaredMime)) return true;
  return MARKDOWN_HEADING.test(text.slice(0, 100_000));
}

/**
 * Decides the type from the bytes, not from what the client claims: a `.txt` that is really a
 * PNG is refused, and a Markdown file sent as `application/octet-stream` is still accepted.
 */
export function detectType(bytes: Uint8Array, filename?: string | null, declaredMime?: string | null): DetectedType {
  const name = filename ? `'${filename}'` : 'The document';
  if (bytes.length === 0) throw new AppError('invalid_request', `${name} is empty.`, { param: 'file' });
  if (isPdf(bytes)) return { mime: 'application/pdf' };
  if (isDocx(bytes)) return { mime: DOCX_MIME };
  const binary = KNOWN_BINARY.find((k) => startsWith(bytes, k.magic));
  if (binary) throw new AppError('unsupported_media_type', `${name} looks like ${binary.what}, which is not supported yet. ${SUPPORTED}`);
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    throw new AppError('unsupported_media_type', `${name} is neither a PDF nor valid UTF-8 text. ${SUPPORTED}`);
  }
  if (text.trim().length === 0) throw new AppError('invalid_request', `${name} contains only whitespace.`, { param: 'file' });
  if (looksLikeHtml(text)) return { mime: 'text/html' };
  if (looksLikeCsv(text, filename, declaredMime)) return { mime: 'text/csv' };
  return { mime: looksLikeMarkdown(text, filename, declaredMime) ? 'text/markdown' : 'text/plain' };
}
