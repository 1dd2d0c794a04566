import { listNumbering, type ListNumbering } from './docx-numbering.js';
import { paragraphStyles, type ParagraphStyles } from './docx-styles.js';
import { attr, decodeXmlEntities } from './docx-xml.js';
import { ParseError } from './extracted-text.js';
import { fromText, type ParseLimits, type ParsedDocument } from './parsed-document.js';
import { TableGrid } from './table-grid.js';
import { openZip } from './zip.js';

export { decodeXmlEntities } from './docx-xml.js';

type NoteKind = 'footnote' | 'endnote';

interface Env {
  styles: ParagraphStyles;
  lists: ListNumbering;
  /** 1 where the document has a Title paragraph: headings move one level down to sit under it. */
  headingShift: number;
  /** Notes read into one line: their heading styles are not section headings. */
  flat?: boolean;
  /** A note's label, and its definition the first time it is cited; null for a missing or empty note. */
  cite?: (kind: NoteKind, id: string) => { label: string; definition: string | null } | null;
}

interface Para {
  kind: 'p';
  text: string;
  styleId?: string;
  /** Heading level from the paragraph's own `w:outlineLvl`. */
  outline?: number;
  numId?: string;
  ilvl?: number;
}

interface Cell {
  kind: 'cell';
  parts: string[];
  /** Grid columns it covers (`w:gridSpan`). */
  span: number;
  /** `w:vMerge`: `restart` starts a vertically merged cell, `continue` is covered by the one above. */
  vMerge?: 'restart' | 'continue';
}

interface Block {
  text: string;
  listItem: boolean;
}

const NOTE_LABEL = /\[\^\d+\]/g;
// Tracked changes keep the previous paragraph (and cell) properties here; they would override the current ones.
const SKIPPED = new Set(['w:pPrChange', 'w:rPrChange', 'w:tcPrChange', 'w:trPrChange']);
// Word's tables have at most 63 grid columns; a hostile span must not make a row of millions of cells.
const MAX_SPAN = 63;

const gridCount = (attrs: string) => Math.min(MAX_SPAN, Math.max(1, Math.floor(Number(attr(attrs, 'w:val') ?? 1)) || 1));

/** `nested`: in a table cell or a text box, where a heading style does not start a section. */
function renderPara(p: Para, env: Env, nested: boolean): Block | null {
  const raw = p.styleId !== undefined ? env.styles.heading(p.styleId) : undefined;
  const level = raw ?? (p.outline !== undefined && p.outline < 9 ? p.outline + 1 : undefined);
  const text = p.text.replace(/\s+$/, '');
  if (!nested && !env.flat && (level === 0 || (level !== undefined && level <= 6))) {
    const title = text.replace(NOTE_LABEL, '').replace(/\s+/g, ' ').trim();
    return title ? { text: `${'#'.repeat(level === 0 ? 1 : Math.min(level + env.headingShift, 6))} ${title}`, listItem: false } : null;
  }
  const fromStyle = p.styleId !== undefined ? env.styles.numbering(p.styleId) : undefined;
  const numId = p.numId ?? fromStyle?.numId;
  const ilvl = p.ilvl ?? (p.numId === undefined ? fromStyle?.ilvl : undefined) ?? 0;
  // numId 0 switches numbering off. Empty items still count, as Word numbers them.
  const marker = numId !== undefined && numId !== '0' ? env.lists.marker(numId, ilvl) : null;
  if (!text.trim()) return null;
  // Leading tabs and spaces in a list item are layout (the gap after the number), not content.
  // Four spaces a level nest under any marker up to "99." in Markdown.
  if (marker !== null) return { text: `${'    '.repeat(ilvl)}${marker} ${text.trimStart()}`, listItem: true };
  return { text, listItem: false };
}

/**
 * Walks the body of a WordprocessingML part (document, footnote, endnote) into Markdown-like
 * blocks. Paragraphs nest (text boxes hold their own `w:p` inside the anchoring one), so they are
 * kept on a stack with table cells; nested paragraphs' blocks follow the outermost paragraph.
 */
function renderBody(xml: string, env: Env): string[] {
  const blocks: string[] = [];
  // Note definitions cited in the block being read; they follow it (or the list it belongs to).
  const cited: string[] = [];
  let held: string[] = [];
  let listOpen = false;
  const emit = (block: Block, notes: string[]) => {
    if (block.listItem && listOpen) {
      // Consecutive items stay in one block, so a list is split only where it is too long.
      blocks[blocks.length - 1] += `\n${block.text}`;
    } else {
      append(blocks, held);
      blocks.push(block.text);
      held = [];
    }
    listOpen = block.listItem;
    append(listOpen ? held : blocks, notes);
  };

  const stack: (Para | Cell)[] = [];
  const para = (): Para | undefined => {
    const top = stack[stack.length - 1];
    return top?.kind === 'p' ? top : undefined;
  };
  // Blocks of nested paragraphs (and tables in text boxes) waiting for their outermost paragraph
  // to end. One list for all depths keeps deep nesting linear; boxes in boxes come out inner first.
  const boxes: Block[] = [];
  const deliver = (block: Block | null) => {
    const top = stack[stack.length - 1];
    if (top?.kind === 'p') {
      if (block) boxes.push(block);
      return;
    }
    const out = block ? [block, ...boxes.splice(0)] : boxes.splice(0);
    if (top?.kind === 'cell') append(top.parts, out.map((b) => b.text.trim().replace(/\s*\n\s*/g, ' ')));
    else out.forEach((b, i) => emit(b, i === out.length - 1 ? cited.splice(0) : []));
  };

  let inText = false;
  let inTabs = false;
  let skip: { name: string; depth: number } | null = null;
  // Per open mc:AlternateContent: whether a branch was read. Only the first is: Choice and
  // Fallback hold the same content (a text box is written twice).
  const alternates: boolean[] = [];
  let tableDepth = 0;
  let rows = new TableGrid();
  // The open row at the table's top level: its cells as written and laid out on the grid.
  let row: { written: string[]; laid: string[] } | null = null;
  // By grid column, the text of the vertically merged cell (`w:vMerge` restart) that covers it, so
  // the rows it spans repeat it: each row reads alone once the chunker splits the table.
  let merged = new Map<number, string>();
  const cellOpen = () => tableDepth === 1 && stack[stack.length - 1]?.kind === 'cell';

  const tag = /<(\/?)([\w.-]+:[\w.-]+)([^>]*?)(\/?)>|([^<]+)/g;
  for (const m of xml.matchAll(tag)) {
    const [, close, name = '', attrs = '', selfClose, text] = m;
    if (skip) {
      if (name === skip.name && !selfClose) skip.depth += close ? -1 : 1;
      if (skip.depth === 0) skip = null;
      continue;
    }
    if (text !== undefined) {
      const p = para();
      if (inText && p) p.text += decodeXmlEntities(text);
      continue;
    }
    const opening = !close;
    const start = opening && !selfClose;
    if (start && SKIPPED.has(name)) {
      skip = { name, depth: 1 };
      continue;
    }
    switch (name) {
      case 'w:t':
        inText = start;
        break;
      case 'w:tabs':
        // Tab stops in the paragraph properties, not tab characters.
        inTabs = start;
        break;
      case 'w:tab':
      case 'w:ptab':
        if (opening && !inTabs) appendText(para(), '\t');
        break;
      case 'w:br':
      case 'w:cr':
        if (opening) appendText(para(), '\n');
        break;
      case 'w:noBreakHyphen':
        if (opening) appendText(para(), '-');
        break;
      case 'w:sym':
        if (opening) appendText(para(), symbol(attr(attrs, 'w:char')));
        break;
      case 'w:footnoteReference':
      case 'w:endnoteReference': {
        const id = attr(attrs, 'w:id');
        const note = opening && id !== undefined ? env.cite?.(name === 'w:footnoteReference' ? 'footnote' : 'endnote', id) : null;
        if (note) {
          appendText(para(), `[^${note.label}]`);
          if (note.definition !== null) cited.push(note.definition);
        }
        break;
      }
      case 'mc:AlternateContent':
        if (start) alternates.push(false);
        else if (!opening) alternates.pop();
        break;
      case 'mc:Choice':
      case 'mc:Fallback':
        if (start && alternates.length > 0) {
          if (alternates[alternates.length - 1]) skip = { name, depth: 1 };
          else alternates[alternates.length - 1] = true;
        }
        break;
      case 'w:pStyle': {
        const p = para();
        if (p) p.styleId = attr(attrs, 'w:val');
        break;
      }
      case 'w:outlineLvl': {
        const p = para();
        if (p) p.outline = Number(attr(attrs, 'w:val') ?? 9);
        break;
      }
      case 'w:numId': {
        const p = para();
        if (p) p.numId = attr(attrs, 'w:val');
        break;
      }
      case 'w:ilvl': {
        const p = para();
        if (p) p.ilvl = Number(attr(attrs, 'w:val') ?? 0) || 0;
        break;
      }
      case 'w:p':
        if (start) stack.push({ kind: 'p', text: '' });
        else if (!opening && para()) {
          const p = stack.pop() as Para;
          deliver(renderPara(p, env, stack.length > 0));
        }
        break;
      case 'w:tbl':
        if (selfClose) break;
        tableDepth += opening ? 1 : -1;
        if (opening && tableDepth === 1) {
          rows = new TableGrid();
          merged = new Map();
        } else if (!opening && tableDepth === 0 && rows.length > 0) {
          // Rows of one table stay in one block so the table reads as a unit.
          deliver({ text: rows.markdown(1).join('\n'), listItem: false });
          rows = new TableGrid();
        }
        break;
      case 'w:tr':
        if (start && tableDepth === 1) row = { written: [], laid: [] };
        else if (!opening && tableDepth === 1 && row) {
          rows.add(row.written, row.laid);
          row = null;
        }
        break;
      case 'w:gridBefore':
        // Grid columns left empty before the row's first cell.
        if (opening && tableDepth === 1 && row && !cellOpen()) for (let n = gridCount(attrs); n > 0; n--) row.laid.push('');
        break;
      case 'w:gridSpan':
        if (opening && cellOpen()) (stack[stack.length - 1] as Cell).span = gridCount(attrs);
        break;
      case 'w:vMerge':
        if (opening && cellOpen()) (stack[stack.length - 1] as Cell).vMerge = attr(attrs, 'w:val') === 'restart' ? 'restart' : 'continue';
        break;
      case 'w:tc':
        if (start && tableDepth === 1) stack.push({ kind: 'cell', parts: [], span: 1 });
        else if (!opening && cellOpen()) {
          const cell = stack.pop() as Cell;
          if (row) pushCell(row, cell, merged);
        }
        break;
      default:
        break;
    }
  }
  append(blocks, held);
  append(blocks, cited);
  return blocks;
}

/**
 * A cell into its row, expanded to the grid columns it covers. A cell merged across columns keeps
 * its text in the first of them and leaves the others empty: it is one value (a "Total" label, a
 * group title), and repeating it would read as that value in each column (Quarter "Total") and
 * multiply a wide title row's text. A cell merged down rows repeats in each of them: every row is
 * a record on its own, and "North" must stay with its Q2 figures when the chunker splits the table.
 */
function pushCell(row: { written: string[]; laid: string[] }, cell: Cell, merged: Map<number, string>): void {
  const col = row.laid.length;
  const own = cell.parts.filter((c) => c.trim()).join(' ');
  row.written.push(own);
  let text = own;
  if (cell.vMerge === 'continue') text = [merged.get(col) ?? '', own].filter((t) => t).join(' ');
  for (let i = 0; i < cell.span; i++) {
    if (cell.vMerge === 'restart') merged.set(col + i, own);
    else if (cell.vMerge !== 'continue') merged.delete(col + i);
    row.laid.push(i === 0 ? text : '');
  }
}

// A loop, not push(...items): a hostile file can nest more text boxes or notes than call arguments allow.
function append<T>(to: T[], items: readonly T[]): void {
  for (const item of items) to.push(item);
}

function appendText(p: Para | undefined, s: string): void {
  if (p) p.text += s;
}

/** `w:sym`: symbol-font characters (Wingdings, Symbol) sit in the private-use area and mean nothing as text. */
function symbol(hex: string | undefined): string {
  const code = hex ? parseInt(hex, 16) : NaN;
  if (!Number.isFinite(code) || code < 0x20 || code > 0x10ffff || (code >= 0xe000 && code <= 0xf8ff)) return '';
  return String.fromCodePoint(code);
}

/** `w:footnote`/`w:endnote` bodies by id, without the separator lines Word stores as notes. */
function notesOf(xml: string | null, kind: NoteKind): Map<string, string> {
  const notes = new Map<string, string>();
  const re = new RegExp(`<w:${kind}\\b([^>]*)>([\\s\\S]*?)</w:${kind}>`, 'g');
  for (const m of (xml ?? '').matchAll(re)) {
    const id = attr(m[1]!, 'w:id');
    const type = attr(m[1]!, 'w:type');
    if (id !== undefined && (type === undefined || type === 'normal')) notes.set(id, m[2]!);
  }
  return notes;
}

/**
 * DOCX -> Markdown-like text: headings become `#` lines (so chunks get heading paths), list items
 * `- ` / `1. ` lines, tables `| a | b |` rows. Footnotes and endnotes are cited as `[^n]` and
 * defined (`[^n]: text`) right after the block that cites them, so a note lands in the same chunk
 * and under the same headings as the passage it explains. Reads the parts through the bounded ZIP
 * reader.
 */
export function parseDocx(bytes: Uint8Array, limits: ParseLimits): ParsedDocument {
  const zip = openZip(bytes, limits);
  if (!zip.has('word/document.xml')) throw new ParseError('The archive is not a Word document (no word/document.xml).');
  const part = (name: string) => (zip.has(name) ? zip.read(name).toString('utf8') : null);
  const styles = paragraphStyles(part('word/styles.xml'));
  const xml = zip.read('word/document.xml').toString('utf8');
  let usesTitle = false;
  for (const m of xml.matchAll(/<w:pStyle w:val="([^"]*)"/g)) {
    if (styles.heading(m[1]!) !== 0) continue;
    usesTitle = true;
    break;
  }
  const base = { styles, lists: listNumbering(part('word/numbering.xml')), headingShift: usesTitle ? 1 : 0 };

  const notes = { footnote: notesOf(part('word/footnotes.xml'), 'footnote'), endnote: notesOf(part('word/endnotes.xml'), 'endnote') };
  const labels = new Map<string, string | null>();
  let noteCount = 0;
  const cite = (kind: NoteKind, id: string) => {
    const key = `${kind}:${id}`;
    if (labels.has(key)) {
      const label = labels.get(key)!;
      return label === null ? null : { label, definition: null };
    }
    const body = notes[kind].get(id);
    const text = body === undefined ? '' : renderBody(body, { ...base, flat: true }).join(' ').replace(/\s+/g, ' ').trim();
    // Footnotes and endnotes share one sequence, so labels never collide.
    const label = text ? String(++noteCount) : null;
    labels.set(key, label);
    return label === null ? null : { label, definition: `[^${label}]: ${text}` };
  };
  return fromText(renderBody(xml, { ...base, cite }).join('\n\n'), { markdown: true });
}
