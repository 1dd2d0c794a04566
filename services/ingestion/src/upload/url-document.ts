import { isUtf8 } from 'node:buffer';
import { html as html5, parse, type DefaultTreeAdapterTypes } from 'parse5';
import { utf16Encoding } from './detect-type.js';

/**
 * What `{url}` ingestion makes of a fetched answer beyond its bytes: the text in UTF-8 whatever
 * charset the page was served in, a title (the page's own, else a name from the URL), and the URL to
 * record as `metadata.source_url` without the newsletter's tracking parameters.
 */

/**
 * Query parameters that only say where a click came from (campaign and click ids of analytics, ad
 * and mailing tools). They are dropped from the recorded `source_url`; every other parameter is kept
 * as it was written. `utm_*` by prefix, the others by name, any case.
 */
const TRACKING_PARAMETERS = new Set([
  'fbclid', 'gclid', 'gclsrc', 'dclid', 'gbraid', 'wbraid', 'msclkid', 'yclid', 'ysclid', 'twclid', 'ttclid', 'igshid', 'li_fat_id', 'epik',
  'mc_cid', 'mc_eid', '_ga', '_gl', '_hsenc', '_hsmi', '__hstc', '__hssc', '__hsfp', 'hsctatracking', 'mkt_tok', 'oly_anon_id', 'oly_enc_id',
  'vero_id', 'vero_conv', 'rb_clickid', 's_cid', 'wickedid', 'srsltid',
]);

function isTrackingParameter(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('utm_') || TRACKING_PARAMETERS.has(lower);
}

function decodeQueryName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/**
 * The URL without tracking parameters (see TRACKING_PARAMETERS). The other parameters keep their
 * order and their encoding (a URLSearchParams round trip would rewrite `%20` as `+`); a query left
 * empty goes entirely. Unparsable input comes back as it was.
 */
export function withoutTrackingParameters(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  if (!url.search) return url.toString();
  const kept = url.search
    .slice(1)
    .split('&')
    .filter((pair) => pair !== '' && !isTrackingParameter(decodeQueryName(pair.split('=', 1)[0]!)));
  url.search = kept.length > 0 ? `?${kept.join('&')}` : '';
  return url.toString();
}

/**
 * A title from the URL alone: the last non-empty segment of its path (`/blog/parental-leave/` gives
 * `parental leave`: a slug's dashes and underscores read as spaces), percent-decoded, without a file
 * extension; the host name for a bare domain.
 */
export function titleFromUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.slice(0, 500);
  }
  const segment = url.pathname.split('/').filter(Boolean).pop();
  if (segment) {
    let name = segment;
    try {
      name = decodeURIComponent(segment);
    } catch {
      // A malformed escape stays as written.
    }
    const title = squash(name.replace(/\.[A-Za-z0-9]{1,8}$/, '').replace(/[-_+]+/g, ' '));
    if (title) return title.slice(0, 500);
  }
  return url.hostname;
}

const HTML_TYPE = /^\s*(text\/html|application\/xhtml\+xml)\s*(;|$)/i;
/** Media types whose declared charset describes text: transcoding anything else (a PDF) would corrupt it. */
const TEXT_TYPE = /^\s*(text\/[\w.+-]+|application\/([\w.-]+\+)?(xml|json)|application\/xhtml\+xml)\s*(;|$)/i;
/** Answers without a usable type, whose bytes may still be an HTML page. */
const UNTYPED = /^\s*(application\/octet-stream|binary\/octet-stream)?\s*(;|$)/i;
/** Encodings whose text can be valid UTF-8 bytes and still need decoding (not ASCII-compatible, or 7-bit escapes). */
const ALWAYS_DECODE = new Set(['utf-16le', 'utf-16be', 'iso-2022-jp']);

/** The `charset` parameter of a Content-Type value, quoted or not. */
export function contentTypeCharset(contentType: string | null): string | null {
  const match = contentType ? /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType) : null;
  const label = match ? (match[1] ?? match[2] ?? '').trim() : '';
  return label || null;
}

/**
 * The charset an HTML page names in its first 1024 bytes, as a browser's prescan looks for it: `<meta
 * charset>`, `<meta http-equiv="Content-Type" content="...; charset=...">`, or an XML declaration's
 * `encoding` (XHTML). Read as Latin-1, which every ASCII-compatible encoding agrees with for markup.
 */
export function htmlDeclaredCharset(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).toString('latin1');
  const xml = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([\w.:-]+)["']/i.exec(head);
  if (xml) return xml[1]!;
  for (const tag of head.match(/<meta\b[^>]*>/gi) ?? []) {
    const charset = /\bcharset\s*=\s*["']?\s*([\w.:-]+)/i.exec(tag);
    if (charset) return charset[1]!;
  }
  return null;
}

/** The WHATWG name of an encoding label (`latin1` -> `windows-1252`), or null for a label TextDecoder does not know. */
function encodingOf(label: string): string | null {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return null;
  }
}

/** WHATWG's windows-1252 for 0x80-0x9F (the rest is Latin-1); the five unassigned bytes stay C1 controls, as there. */
const WINDOWS_1252_C1 = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

/**
 * windows-1252 (what `iso-8859-1`, `latin1` and `us-ascii` mean on the web, as in browsers). Decoded
 * here, not by TextDecoder: Node 20's reads 0x80-0x9F as Latin-1's C1 controls, losing curly quotes,
 * dashes and the euro sign.
 */
function decodeWindows1252(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('latin1')
    .replace(/[\u0080-\u009f]/g, (c) => String.fromCharCode(WINDOWS_1252_C1[c.charCodeAt(0) - 0x80]!));
}

function looksLikeMarkup(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 512)).toString('latin1').replace(/^\s+/, '');
  return head.startsWith('<');
}

export interface Utf8Body {
  bytes: Uint8Array;
  /** The encoding the bytes were decoded from (WHATWG name), or null when they were used as they came. */
  decodedFrom: string | null;
}

/**
 * A fetched body in UTF-8. Decoded from the charset the answer declares: a byte-order mark first,
 * then the Content-Type's `charset` (for text types), then, for HTML, the page's own `<meta charset>`
 * (or XML declaration). Bytes that are valid UTF-8 already are kept as they are unless the declared
 * encoding is one whose text can look like UTF-8 (UTF-16, ISO-2022-JP): servers often declare
 * ISO-8859-1 by default for pages written in UTF-8, and such a page read as Latin-1 would turn every
 * accent into two characters. A label TextDecoder does not know is ignored. Non-text types (a PDF) are
 * never touched.
 */
export function toUtf8(bytes: Uint8Array, contentType: string | null): Utf8Body {
  const type = contentType ?? '';
  const textual = TEXT_TYPE.test(type);
  const untyped = UNTYPED.test(type);
  if (!textual && !untyped) return { bytes, decodedFrom: null };
  let encoding: string | null = null;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { bytes, decodedFrom: null };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) encoding = 'utf-16le';
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) encoding = 'utf-16be';
  if (!encoding && textual) {
    const label = contentTypeCharset(type);
    if (label) encoding = encodingOf(label);
  }
  if (!encoding && (HTML_TYPE.test(type) || (untyped && looksLikeMarkup(bytes)))) {
    const label = htmlDeclaredCharset(bytes);
    // A page cannot name UTF-16 from inside itself (its prescan read it as ASCII): WHATWG reads it as UTF-8.
    const named = label ? encodingOf(label) : null;
    encoding = named === 'utf-16le' || named === 'utf-16be' ? 'utf-8' : named;
  }
  if (!encoding || encoding === 'utf-8' || encoding === 'replacement') return { bytes, decodedFrom: null };
  if (!ALWAYS_DECODE.has(encoding) && isUtf8(bytes)) return { bytes, decodedFrom: null };
  // TextDecoder drops a byte-order mark of the encoding it decodes.
  const text = encoding === 'windows-1252' ? decodeWindows1252(bytes) : new TextDecoder(encoding).decode(bytes);
  return { bytes: Buffer.from(text, 'utf8'), decodedFrom: encoding };
}

type Node = DefaultTreeAdapterTypes.Node;
type Element = DefaultTreeAdapterTypes.Element;

const isElement = (node: Node): node is Element => 'tagName' in node;
const childrenOf = (node: Node): Node[] => ('childNodes' in node ? node.childNodes : []);

/** Depth-first, document order: the first HTML element with this tag name. */
function firstElement(root: Node, tagName: string): Element | null {
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (isElement(node) && node.tagName === tagName && node.namespaceURI === html5.NS.HTML) return node;
    if (isElement(node) && (node.tagName === 'template' || node.tagName === 'script' || node.tagName === 'style')) continue;
    stack.push(...childrenOf(node).slice().reverse());
  }
  return null;
}

function textOf(node: Node): string {
  if (node.nodeName === '#text') return (node as DefaultTreeAdapterTypes.TextNode).value;
  if (isElement(node) && (node.tagName === 'script' || node.tagName === 'style' || node.tagName === 'template')) return '';
  return childrenOf(node).map(textOf).join('');
}

/** Whitespace and control characters collapsed to single spaces, trimmed. */
function squash(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f ? ' ' : ch;
  }
  return out.replace(/\s+/g, ' ').trim();
}

// A page's <title> (or first <h1>) is near its start; parsing more would only cost time in the request.
const TITLE_SCAN_CHARS = 256 * 1024;

/**
 * A page's own title, for a document fetched by URL without one: its `<title>`, else its first
 * `<h1>`, whitespace collapsed, entities decoded, at most 500 characters; null when it has neither.
 * Reads the first 256K characters of the (UTF-8) page.
 */
export function htmlTitle(bytes: Uint8Array): string | null {
  // A UTF-16 page with a BOM is typed as HTML by its text even when its Content-Type left it undecoded.
  const text = new TextDecoder(utf16Encoding(bytes) ?? 'utf-8').decode(bytes.subarray(0, TITLE_SCAN_CHARS * 4), { stream: true }).slice(0, TITLE_SCAN_CHARS);
  const document = parse(text);
  for (const tag of ['title', 'h1']) {
    const element = firstElement(document, tag);
    const title = element ? squash(textOf(element)) : '';
    if (title) return title.slice(0, 500);
  }
  return null;
}
