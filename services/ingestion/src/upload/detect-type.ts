import { isUtf8 } from 'node:buffer';
import { AppError } from '@quire/server-kit';
import { findHeadings } from '../chunk/markdown-headings.js';
import { parseCsvRecords } from '../parse/csv.js';

export const DOCX_MIME = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
export type SupportedMime = 'application/pdf' | typeof DOCX_MIME | 'text/html' | 'text/csv' | 'text/markdown' | 'text/plain';

export interface DetectedType {
  mime: SupportedMime;
}

const MARKDOWN_EXT = /\.(md|markdown|mdown|mkd)$/i;
// Syntax that plain text rarely has by accident (unlike `# ` comment lines and `-` lists): a fence,
// bold text, a table rule, and links (hasInlineLink). These patterns start only at a line start or
// a `**`/`__` and stop at the line's end or the next `*` or `_`, so their work stays linear.
const MARKDOWN_SYNTAX = [/^ {0,3}(`{3,}|~{3,})/m, /(\*\*|__)\w[^*_\n]*?[\w.)]\1/, /^ {0,3}\|?[ \t]*:?-{3,}:?[ \t]*\|/m];
const LINK_TARGET_END = /[)\s]/g;

/**
 * Whether the text has an inline link or image, `[text](target)`: text without `]` or a line break,
 * a target without `)` or spaces. One pass; the equivalent pattern restarts at every `[` and rescans
 * to the line's end, which a line of 40,000 `[` turns into seconds of blocked event loop.
 */
function hasInlineLink(text: string): boolean {
  // The first `[` since the last `]` or line break: every `[` in that stretch sees the same `]`.
  let open = -1;
  // Where the target that starts at `from` ends (the first `)` or space at or after it); targets
  // starting before `targetEnd` all end there, so it is found again only past it.
  let targetEnd = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') {
      if (open < 0) open = i;
    } else if (c === '\n') {
      open = -1;
    } else if (c === ']') {
      if (open >= 0 && i - open >= 2 && text[i + 1] === '(') {
        const from = i + 2;
        if (targetEnd < from) {
          LINK_TARGET_END.lastIndex = from;
          targetEnd = LINK_TARGET_END.exec(text)?.index ?? text.length;
        }
        if (targetEnd > from && text[targetEnd] === ')') return true;
      }
      open = -1;
    }
  }
  return false;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

// Common binary formats people try to upload, so the refusal can say what the file looked like.
// A ZIP here is not a Word document (isDocx has already said no), so .docx is not offered as an example.
const KNOWN_BINARY: { magic: number[]; what: string }[] = [
  { magic: ZIP_MAGIC, what: 'a ZIP archive that is not a Word document (e.g. .zip, .xlsx, .pptx)' },
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

/** What decodeUtf8 accepts, checked without making a string of the whole upload. */
function isUtf8Text(bytes: Uint8Array): boolean {
  return !bytes.includes(0) && isUtf8(bytes);
}

// The type checks read at most the first 100,000 characters (looksLikeMarkdown's head): at most 3
// bytes of UTF-8 each (4 bytes make 2 UTF-16 characters), with room for a BOM and a cut character.
const HEAD_BYTES = 4 * 100_000;

/** The start of UTF-8 `bytes` as text, enough for the type checks; a character cut at the end is left out. */
function decodeHead(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes.subarray(0, HEAD_BYTES), { stream: true });
}

/** Whether UTF-8 `bytes` are only whitespace, as `trim` sees it; decoded a piece at a time, so text stops at its first piece. */
function isBlank(bytes: Uint8Array): boolean {
  const decoder = new TextDecoder('utf-8');
  for (let at = 0; at < bytes.length; at += 65_536) {
    if (decoder.decode(bytes.subarray(at, at + 65_536), { stream: true }).trim() !== '') return false;
  }
  return true;
}

/** A ZIP whose central directory names word/document.xml (OOXML word processing). */
export function isDocx(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, ZIP_MAGIC)) return false;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('word/document.xml');
}

/** BOM, whitespace, an XML declaration, comments and a doctype that are not an HTML one may come before the first tag. */
function htmlStart(text: string): string {
  let head = text.slice(0, 8192).replace(/^\uFEFF/, '');
  for (;;) {
    const next = head.replace(/^\s+/, '').replace(/^<\?xml\b[\s\S]*?\?>/i, '').replace(/^<!--[\s\S]*?-->/, '');
    if (next === head) return head.toLowerCase();
    head = next;
  }
}

/** An HTML document by its content; with an HTML name or declared type, any text starting with a tag (a fragment). */
export function looksLikeHtml(text: string, filename?: string | null, declaredMime?: string | null): boolean {
  const head = htmlStart(text);
  if (head.startsWith('<!doctype html') || /^<(html|head|body)[\s>/]/.test(head)) return true;
  const named = (filename && /\.x?html?$/i.test(filename)) || (declaredMime && /^(text\/html|application\/xhtml\+xml)\b/i.test(declaredMime));
  return Boolean(named) && /^<(!doctype\b|[a-z][a-z0-9-]*[\s/>])/.test(head);
}

/**
 * By name or declared type, confirmed by the content: at least two records (a header and a row),
 * which the CSV parser needs; one column is fine.
 */
export function looksLikeCsv(text: string, filename?: string | null, declaredMime?: string | null): boolean {
  const named = (filename && /\.(csv|tsv)$/i.test(filename)) || (declaredMime && /^text\/(csv|tab-separated-values)\b/i.test(declaredMime));
  if (!named) return false;
  return parseCsvRecords(text.slice(0, 65_536)).length >= 2;
}

const TITLED = /^(?:\uFEFF)?(?:[ \t]*\r?\n)*[ ]{0,3}#{1,6}[ \t]+\S[^\n]*\n[ \t]*(?:\r?\n|$)/;

/** Whether the line before `offset` (a line start) is blank or absent, and the line after `end` (a line end) too. */
function standsAlone(text: string, offset: number, end: number): boolean {
  const before = text.lastIndexOf('\n', offset - 2);
  const blankBefore = offset === 0 || text.slice(before + 1, offset).trim() === '';
  const after = text.indexOf('\n', end + 1);
  const blankAfter = end >= text.length - 1 || text.slice(end + 1, after < 0 ? text.length : after).trim() === '';
  return blankBefore && blankAfter;
}

/**
 * A Markdown name or declared type decides; a `.txt` name or `text/plain` keeps plain text (`#`
 * starts comments in licences and config files). Otherwise it takes a `# Title` opening the text,
 * two headings that stand apart as sections do (blank lines around them), or two headings and some
 * other Markdown syntax: `# comment` lines over `key = value` lines are none of these.
 */
export function looksLikeMarkdown(text: string, filename?: string | null, declaredMime?: string | null): boolean {
  if (filename && MARKDOWN_EXT.test(filename)) return true;
  if (declaredMime && /^text\/(x-)?markdown\b/i.test(declaredMime)) return true;
  if (filename && /\.txt$/i.test(filename)) return false;
  if (declaredMime && /^text\/plain\b/i.test(declaredMime)) return false;
  const head = text.slice(0, 100_000);
  // A text that opens with a `# Title` line and a blank line is a titled Markdown document (the usual
  // shape of wiki pages sent as JSON text); a `# comment` over `key = value` lines is not.
  if (TITLED.test(head)) return true;
  // Setext underlines are left out: licences draw `---` rules under paragraphs.
  const atx = findHeadings(head).filter((h) => /^[ \t]*#/.test(head.slice(h.offset, h.offset + 8)));
  if (atx.length < 2) return false;
  const lineEnd = (from: number) => {
    const at = head.indexOf('\n', from);
    return at < 0 ? head.length : at;
  };
  if (atx.filter((h) => standsAlone(head, h.offset, lineEnd(h.offset))).length >= 2) return true;
  return hasInlineLink(head) || MARKDOWN_SYNTAX.some((re) => re.test(head));
}

/** The name or the declared type says Word (.docx). */
function claimsDocx(filename?: string | null, declaredMime?: string | null): boolean {
  return Boolean((filename && /\.docx$/i.test(filename)) || (declaredMime && declaredMime.trim().toLowerCase().startsWith(DOCX_MIME)));
}

/**
 * Why a file sent as Word is not one. The generic refusal would list Word among the supported
 * types, as if the caller had sent something else; a damaged or renamed .docx needs re-saving.
 */
function notWordMessage(name: string, bytes: Uint8Array): string {
  const fix = 're-save it as .docx from Word or LibreOffice.';
  if (startsWith(bytes, ZIP_MAGIC)) return `${name} is not a readable Word document (no word/document.xml; a damaged file, or another ZIP format renamed): ${fix}`;
  const binary = KNOWN_BINARY.find((k) => startsWith(bytes, k.magic));
  if (binary) return `${name} is not a readable Word document (it looks like ${binary.what}): ${fix}`;
  return `${name} is not a readable Word document (a .docx is a ZIP archive; this is not one): ${fix}`;
}

/**
 * Decides the type from the bytes, not from what the client claims: a `.txt` that is really a
 * PNG is refused, and a Markdown file sent as `application/octet-stream` is still accepted. Text
 * sent as .docx is still read as text; binary content sent as .docx is refused as a broken Word file.
 */
export function detectType(bytes: Uint8Array, filename?: string | null, declaredMime?: string | null): DetectedType {
  const name = filename ? `'${filename}'` : 'The document';
  if (bytes.length === 0) throw new AppError('invalid_request', `${name} is empty.`, { param: 'file' });
  if (isPdf(bytes)) return { mime: 'application/pdf' };
  if (isDocx(bytes)) return { mime: DOCX_MIME };
  if (claimsDocx(filename, declaredMime) && (startsWith(bytes, ZIP_MAGIC) || !isUtf8Text(bytes))) throw new AppError('unsupported_media_type', notWordMessage(name, bytes));
  const binary = KNOWN_BINARY.find((k) => startsWith(bytes, k.magic));
  if (binary) throw new AppError('unsupported_media_type', `${name} looks like ${binary.what}, which is not supported yet. ${SUPPORTED}`);
  // Checked and typed without decoding the whole upload: a string of it would be one more copy of
  // every text upload, held in the request handler (the parser decodes it again anyway).
  if (!isUtf8Text(bytes)) {
    throw new AppError('unsupported_media_type', `${name} is neither a PDF nor valid UTF-8 text. ${SUPPORTED}`);
  }
  if (isBlank(bytes)) throw new AppError('invalid_request', `${name} contains only whitespace.`, { param: 'file' });
  const text = decodeHead(bytes);
  if (looksLikeHtml(text, filename, declaredMime)) return { mime: 'text/html' };
  if (looksLikeCsv(text, filename, declaredMime)) return { mime: 'text/csv' };
  return { mime: looksLikeMarkdown(text, filename, declaredMime) ? 'text/markdown' : 'text/plain' };
}
