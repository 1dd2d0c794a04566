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

const SUPPORTED = 'Supported types: PDF, Word (.docx), HTML, CSV, Markdown (.md) and UTF-8 or UTF-16 plain text (.txt).';
const SAVE_AS_UTF8 = 'Save it as UTF-8 (in Excel: "CSV UTF-8"; in Notepad: Save As, Encoding "UTF-8") and upload it again.';

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

export type Utf16 = 'utf-16le' | 'utf-16be';

/**
 * UTF-16 by its byte order mark (FF FE little-endian, FE FF big-endian): Excel's "Unicode Text",
 * PowerShell's `>` and Notepad's "Unicode" write it. Without a mark UTF-16 is not guessed.
 */
export function utf16Encoding(bytes: Uint8Array): Utf16 | null {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return null;
}

/** Decodes UTF-16 with a BOM strictly (the BOM left out): undefined when invalid or holding NUL (binary). */
function decodeUtf16(bytes: Uint8Array, encoding: Utf16): string | undefined {
  try {
    const text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
    return text.includes('\0') ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * The text of a text upload: UTF-16 with a byte order mark, else UTF-8 (a UTF-8 BOM kept); undefined
 * for anything else, which detectType refuses.
 */
export function decodeText(bytes: Uint8Array): string | undefined {
  const utf16 = utf16Encoding(bytes);
  return utf16 ? decodeUtf16(bytes, utf16) : decodeUtf8(bytes);
}

/**
 * What detectType needs of a UTF-16 upload, read a piece at a time (no string of the whole upload):
 * its first characters, whether it is only whitespace; undefined when it is not valid UTF-16 text.
 */
function readUtf16(bytes: Uint8Array, encoding: Utf16): { head: string; blank: boolean } | undefined {
  const decoder = new TextDecoder(encoding, { fatal: true });
  let head = '';
  let blank = true;
  try {
    for (let at = 0; at < bytes.length; at += 65_536) {
      const piece = decoder.decode(bytes.subarray(at, at + 65_536), { stream: at + 65_536 < bytes.length });
      if (piece.includes('\0')) return undefined;
      if (head.length < HEAD_CHARS) head += piece.slice(0, HEAD_CHARS - head.length);
      if (blank && piece.trim() !== '') blank = false;
    }
  } catch {
    return undefined;
  }
  return { head, blank };
}

/**
 * Why bytes that are not UTF-8 (and have no UTF-16 BOM) were refused, from their first 4 KB: UTF-16
 * without a BOM (every other byte NUL), text in an 8-bit code page (no NUL, few control
 * characters: Excel's "CSV (Comma delimited)" and older Notepad's "ANSI" write Windows-1252 in
 * Western Europe and the Americas), else the generic refusal. Such text is refused, not decoded as
 * Windows-1252: every byte is valid in every 8-bit code page, so a Central European (1250),
 * Cyrillic (1251) or Mac file would be indexed as silent mojibake ("MĂĽller" for "Müller"), which
 * nobody would notice until search fails, while the refusal says how to fix it in one step.
 */
function notUtf8Message(name: string, bytes: Uint8Array): string {
  const generic = `${name} is neither a PDF nor valid UTF-8 or UTF-16 text. ${SUPPORTED}`;
  const head = bytes.subarray(0, 4096);
  const nul = [0, 0];
  let controls = 0;
  for (let i = 0; i < head.length; i++) {
    const b = head[i]!;
    if (b === 0) nul[i % 2]!++;
    else if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) || b === 0x7f) controls++;
  }
  const pairs = Math.floor(head.length / 2);
  if (pairs >= 8 && Math.max(...nul) >= pairs * 0.3 && Math.min(...nul) <= pairs * 0.02 && textLane(head, nul[0]! > nul[1]! ? 1 : 0)) {
    return `${name} looks like UTF-16 text without a byte order mark, which cannot be read safely. ${SAVE_AS_UTF8}`;
  }
  // Valid UTF-8 refused for its NUL bytes is binary, whatever its start looks like.
  if (!head.includes(0) && controls <= head.length * 0.01 && !isUtf8(bytes)) {
    return `${name} is not UTF-8 text: it looks like text in an 8-bit encoding, probably Windows-1252 ("ANSI", as Excel's "CSV (Comma delimited)" and older Notepad save it). ${SAVE_AS_UTF8}`;
  }
  return generic;
}

/**
 * Whether the bytes at `lane` (every other byte, beside the NUL ones) read as text: UTF-16 of mostly
 * Latin text has printable ASCII there. A short or binary file with NULs in one lane is not called
 * UTF-16 (a file named .pdf with a few stray bytes gets the generic refusal).
 */
function textLane(head: Uint8Array, lane: 0 | 1): boolean {
  let text = 0;
  let total = 0;
  for (let i = lane; i < head.length; i += 2) {
    const b = head[i]!;
    if (b === 0) continue;
    total++;
    if ((b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d || b >= 0xa0) text++;
  }
  return total > 0 && text >= total * 0.8;
}

/** What decodeUtf8 accepts, checked without making a string of the whole upload. */
function isUtf8Text(bytes: Uint8Array): boolean {
  return !bytes.includes(0) && isUtf8(bytes);
}

// The type checks read at most the first 100,000 characters (looksLikeMarkdown's head): at most 3
// bytes of UTF-8 each (4 bytes make 2 UTF-16 characters), with room for a BOM and a cut character.
const HEAD_CHARS = 100_000;
const HEAD_BYTES = 4 * HEAD_CHARS;

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
  const utf16 = utf16Encoding(bytes);
  if (claimsDocx(filename, declaredMime) && (startsWith(bytes, ZIP_MAGIC) || (!utf16 && !isUtf8Text(bytes)))) throw new AppError('unsupported_media_type', notWordMessage(name, bytes));
  const binary = KNOWN_BINARY.find((k) => startsWith(bytes, k.magic));
  if (binary) throw new AppError('unsupported_media_type', `${name} looks like ${binary.what}, which is not supported yet. ${SUPPORTED}`);
  if (utf16) {
    // Typed from the decoded text, as UTF-8 is; the parser decodes it again (decodeText).
    const read = readUtf16(bytes, utf16);
    if (!read) throw new AppError('unsupported_media_type', `${name} starts with a UTF-16 byte order mark but is not valid UTF-16 text. ${SAVE_AS_UTF8}`);
    if (read.blank) throw new AppError('invalid_request', `${name} contains only whitespace.`, { param: 'file' });
    return typeOfText(read.head, filename, declaredMime);
  }
  // Checked and typed without decoding the whole upload: a string of it would be one more copy of
  // every text upload, held in the request handler (the parser decodes it again anyway).
  if (!isUtf8Text(bytes)) throw new AppError('unsupported_media_type', notUtf8Message(name, bytes));
  if (isBlank(bytes)) throw new AppError('invalid_request', `${name} contains only whitespace.`, { param: 'file' });
  return typeOfText(decodeHead(bytes), filename, declaredMime);
}

/** The type of a text upload from its first characters. */
function typeOfText(text: string, filename?: string | null, declaredMime?: string | null): DetectedType {
  if (looksLikeHtml(text, filename, declaredMime)) return { mime: 'text/html' };
  if (looksLikeCsv(text, filename, declaredMime)) return { mime: 'text/csv' };
  return { mime: looksLikeMarkdown(text, filename, declaredMime) ? 'text/markdown' : 'text/plain' };
}
