// parse5 rather than htmlparser2 (both linear time): parse5 builds the tree the WHATWG algorithm,
// and so a browser, builds (implied </p>, </dt>, </dd>, </li>, misnested tags, tables, <pre>'s
// first newline), so what we index is what a reader saw; htmlparser2 only approximates those rules.
// node-html-parser, used before, took ~30 s on a 242 KB page of unclosed <p>/<dt>/<dd> tags.
import { parse } from 'parse5';
import { boilerplateTest, contentRoots, isPermalink, titleBefore } from './html-content.js';
import { attr, childrenOf, classTokens, descendants, find, isElement, isText, plainText, type HtmlElement, type HtmlNode } from './html-dom.js';
import { fromText, type ParsedDocument } from './parsed-document.js';
import { TableGrid } from './table-grid.js';

const BLOCK = new Set([
  'p', 'div', 'section', 'article', 'main', 'blockquote', 'ul', 'ol', 'dl', 'dt', 'dd', 'figure', 'figcaption', 'address',
  'header', 'table', 'caption', 'body', 'details', 'summary', 'hr', 'center', 'hgroup', 'fieldset', 'li', 'tr', 'td', 'th',
]);

type Drop = (el: HtmlElement) => boolean;

const squash = (s: string) => s.replace(/\s+/g, ' ');

// Real pages nest a few dozen levels; a hostile one nests thousands, which would overflow the
// stack of the recursive walk. Below this depth a subtree is read as plain text (iteratively).
const MAX_DEPTH = 500;

// A text line that reads as Markdown structure would give the chunker a fake heading (`# x`, a
// `---` under a line) or open a code fence or an HTML block (text `&lt;pre>` reads `<pre>`) that
// swallows the real headings after it.
const MARKDOWN_LOOKALIKE = /^(#{1,6}(\s|$)|```|~~~|=+$|-+$|<)/;
const escapeLine = (l: string) => (MARKDOWN_LOOKALIKE.test(l) ? `\\${l}` : l);

/** Text of an inline run: links as `[text](href)`, `<br>` as a newline, permalink markers gone. */
function inline(node: HtmlNode, drop: Drop, depth = 0): string {
  if (isText(node)) return squash(node.value);
  if (!isElement(node) || drop(node) || isPermalink(node)) return '';
  if (node.tagName === 'br') return '\n';
  if (depth > MAX_DEPTH) return squash(plainText(node));
  const inner = childrenOf(node).map((c) => inline(c, drop, depth + 1)).join('');
  if (node.tagName === 'a') {
    const href = attr(node, 'href');
    return href && /^(https?:|mailto:|\/)/i.test(href) && inner.trim() ? `[${inner.trim()}](${href})` : inner;
  }
  // Keeps `<td><p>a</p><p>b</p></td>` from reading "ab".
  return BLOCK.has(node.tagName) ? ` ${inner} ` : inner;
}

function languageOf(pre: HtmlElement): string {
  const code = find(pre, (el) => el.tagName === 'code');
  for (const el of code ? [pre, code] : [pre]) {
    for (const c of classTokens(el)) {
      const m = /^(?:language|lang)-([\w+#.-]+)$/.exec(c);
      if (m) return m[1]!;
    }
  }
  return '';
}

/** A fenced block of the `<pre>`'s plain text: markup and highlighting spans gone, `#` lines not headings. */
function fencedPre(pre: HtmlElement): string | null {
  const code = plainText(pre).replace(/^(?:[ \t]*\n)+/, '').replace(/\s+$/, '');
  if (!code.trim()) return null;
  const longestRun = Math.max(0, ...(code.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}${languageOf(pre)}\n${code}\n${fence}`;
}

// The spec's limits: colspan at most 1000, rowspan at most 65534 (0: to the end of the table).
const MAX_COLSPAN = 1000;
const MAX_ROWSPAN = 65_534;
// Columns a table may reach, so spans written to be huge cannot make rows of millions of cells.
const MAX_COLUMNS = 1000;

function span(el: HtmlElement, name: string, max: number, zero: number): number {
  const n = Number.parseInt(attr(el, name) ?? '', 10);
  if (n === 0) return zero;
  return Number.isFinite(n) && n > 0 ? Math.min(n, max) : 1;
}

/**
 * A table's rows as Markdown table rows. The first row is the header, as in DOCX tables: many pages
 * (exports from wikis and office software among them) write their header row in `<td>` cells, and
 * a table without a header line would not be a table to the chunker, whose later chunks of it then
 * carry no header to read their rows by (chunk/markdown-tables.ts). A table of one row has no header.
 *
 * Merged cells are laid out on the table's grid, as a browser does, and every row is padded to the
 * widest, so each value sits under its own header. A `colspan` cell's text goes in its first column
 * and the others stay empty: it is one value (a "Total" label, a group title), and repeating it would
 * read as that value in each column and multiply a wide title row's text. A `rowspan` cell repeats
 * in every row it covers: each row is a record on its own, and "North" must stay with its Q2 figures
 * when the chunker splits the table.
 */
function tableRows(table: HtmlElement, drop: Drop): string[] {
  const grid = new TableGrid();
  // By column, a cell from a row above that still covers it: its text and how many more rows.
  const covering = new Map<number, { text: string; rows: number }>();
  const cover = (row: string[], col: number) => {
    const c = covering.get(col)!;
    row[col] = c.text;
    if (--c.rows === 0) covering.delete(col);
  };
  for (const tr of descendants(table, (el) => el.tagName === 'table')) {
    if (tr.tagName !== 'tr') continue;
    const cells = childrenOf(tr).filter((c): c is HtmlElement => isElement(c) && (c.tagName === 'td' || c.tagName === 'th'));
    if (cells.length === 0) continue;
    const written = cells.map((c) => squash(inline(c, drop)).trim());
    if (!grid.fits) {
      grid.add(written);
      continue;
    }
    const row: string[] = [];
    let col = 0;
    cells.forEach((cell, k) => {
      while (covering.has(col)) cover(row, col++);
      // Spans stop at MAX_COLUMNS; a cell itself always takes a column.
      const cols = Math.min(span(cell, 'colspan', MAX_COLSPAN, 1), Math.max(1, MAX_COLUMNS - col));
      const rows = span(cell, 'rowspan', MAX_ROWSPAN, MAX_ROWSPAN);
      for (let i = 0; i < cols; i++) {
        row[col + i] = i === 0 ? written[k]! : '';
        if (rows > 1) covering.set(col + i, { text: row[col + i]!, rows: rows - 1 });
      }
      col += cols;
    });
    // Cells from above that cover columns past this row's last cell.
    for (const c of [...covering.keys()].filter((k) => k >= col).sort((a, b) => a - b)) cover(row, c);
    grid.add(written, Array.from(row, (c) => c ?? ''));
  }
  return grid.markdown(2);
}

class MarkdownWriter {
  readonly blocks: { text: string; item: boolean }[] = [];
  line = '';
  /** A list marker waiting for its item's first text, which may sit in a `<p>` inside the `<li>`. */
  marker = '';
  listDepth = 0;

  flush(): void {
    const text = this.line.replace(/[ \t]+/g, ' ').replace(/ ?\n ?/g, '\n').trim();
    this.line = '';
    if (!text) return;
    this.blocks.push({ text: this.marker + text.split('\n').map(escapeLine).join('\n'), item: this.marker !== '' });
    this.marker = '';
  }

  block(text: string): void {
    this.flush();
    this.marker = '';
    this.blocks.push({ text, item: false });
  }

  /** Blocks apart by a blank line; the items of a list (or of nested lists) one under another. */
  text(): string {
    return this.blocks.map((b, i) => (i === 0 ? '' : b.item && this.blocks[i - 1]!.item ? '\n' : '\n\n') + b.text).join('');
  }
}

function walk(node: HtmlNode, w: MarkdownWriter, roots: HtmlElement[], drop: Drop, depth = 0): void {
  if (isText(node)) {
    w.line += squash(node.value);
    return;
  }
  if (!isElement(node) || (!roots.includes(node) && drop(node))) return;
  if (depth > MAX_DEPTH) {
    w.line += ` ${squash(plainText(node))} `;
    return;
  }
  const tag = node.tagName;
  const heading = /^h([1-6])$/.exec(tag);
  if (heading) {
    const title = squash(inline(node, drop)).trim();
    if (title) w.block(`${'#'.repeat(Number(heading[1]))} ${title}`);
    else w.flush();
    return;
  }
  if (tag === 'pre') {
    const fenced = fencedPre(node);
    if (fenced) w.block(fenced);
    return;
  }
  if (tag === 'table') {
    w.flush();
    const caption = find(node, (el) => el.tagName === 'caption');
    if (caption) walk(caption, w, roots, drop);
    const rows = tableRows(node, drop);
    if (rows.length > 0) w.block(rows.join('\n'));
    return;
  }
  if (tag === 'li') {
    w.flush();
    w.marker = `${'  '.repeat(Math.max(0, w.listDepth - 1))}- `;
    for (const c of childrenOf(node)) walk(c, w, roots, drop, depth + 1);
    w.flush();
    w.marker = '';
    return;
  }
  if (tag === 'a' || tag === 'br') {
    w.line += inline(node, drop);
    return;
  }
  const list = tag === 'ul' || tag === 'ol';
  const block = BLOCK.has(tag);
  if (block) w.flush();
  if (list) w.listDepth++;
  for (const c of childrenOf(node)) walk(c, w, roots, drop, depth + 1);
  if (list) w.listDepth--;
  if (block) w.flush();
}

/**
 * HTML -> Markdown-like text of the main content: `<main>`/`<article>`s when present, else the body,
 * without scripts, styles, navigation, footers and other boilerplate. Headings become `#` lines
 * (heading paths for chunks), links keep their target as `[text](href)`, tables become rows under
 * their header, `<pre>` becomes a fenced code block of its plain text.
 */
export function parseHtml(html: string): ParsedDocument {
  const doc = parse(html);
  // parse5 always builds <html> and <body>, except for a frameset page, which has no body.
  const body = find(doc, (el) => el.tagName === 'body') ?? find(doc, (el) => el.tagName === 'html')!;
  const drop = boilerplateTest(body);
  const roots = contentRoots(body, drop);
  const w = new MarkdownWriter();
  const title = titleBefore(body, roots, drop);
  if (title) walk(title, w, roots, drop);
  for (const root of roots) {
    walk(root, w, roots, drop);
    w.flush();
  }
  return fromText(w.text(), { markdown: true });
}
