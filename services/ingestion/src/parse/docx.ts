import { ParseError } from './extracted-text.js';
import { fromText, type ParseLimits, type ParsedDocument } from './parsed-document.js';
import { openZip } from './zip.js';

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeXmlEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
    }
    return ENTITY[e.toLowerCase()] ?? m;
  });
}

const attr = (attrs: string, name: string): string | undefined => new RegExp(`${name}="([^"]*)"`).exec(attrs)?.[1];

/** Style id -> heading level, from names like "heading 2" / "Title" or an explicit outline level. */
function headingStyles(stylesXml: string | null): Map<string, number> {
  const levels = new Map<string, number>();
  if (!stylesXml) return levels;
  for (const m of stylesXml.matchAll(/<w:style\b([^>]*)>([\s\S]*?)<\/w:style>/g)) {
    const id = attr(m[1]!, 'w:styleId');
    if (!id) continue;
    const name = /<w:name w:val="([^"]*)"/.exec(m[2]!)?.[1]?.toLowerCase() ?? '';
    const outline = /<w:outlineLvl w:val="(\d)"/.exec(m[2]!)?.[1];
    const byName = /^heading (\d)$/.exec(name)?.[1];
    if (name === 'title') levels.set(id, 1);
    else if (byName) levels.set(id, Number(byName));
    else if (outline !== undefined) levels.set(id, Number(outline) + 1);
  }
  return levels;
}

/**
 * DOCX -> Markdown-like text: headings become `#` lines (so chunks get heading paths) and tables
 * become `| a | b |` rows. Reads word/document.xml through the bounded ZIP reader.
 */
export function parseDocx(bytes: Uint8Array, limits: ParseLimits): ParsedDocument {
  const zip = openZip(bytes, limits);
  if (!zip.has('word/document.xml')) throw new ParseError('The archive is not a Word document (no word/document.xml).');
  const styles = headingStyles(zip.has('word/styles.xml') ? zip.read('word/styles.xml').toString('utf8') : null);
  const xml = zip.read('word/document.xml').toString('utf8');
  const blocks: string[] = [];
  let para = '';
  let level = 0;
  let inText = false;
  let tableDepth = 0;
  let row: string[] | null = null;
  let cell: string[] | null = null;
  let rowsInTable = 0;
  const tag = /<(\/?)([a-zA-Z]+:[a-zA-Z]+)([^>]*?)(\/?)>|([^<]+)/g;
  for (const m of xml.matchAll(tag)) {
    const [, close, name, attrs = '', selfClose, text] = m;
    if (text !== undefined) {
      if (inText) para += decodeXmlEntities(text);
      continue;
    }
    const opening = !close;
    switch (name) {
      case 'w:t':
        inText = opening && !selfClose;
        break;
      case 'w:tab':
        if (opening) para += '\t';
        break;
      case 'w:br':
      case 'w:cr':
        if (opening) para += '\n';
        break;
      case 'w:pStyle': {
        const id = attr(attrs, 'w:val');
        if (id && styles.has(id)) level = styles.get(id)!;
        else if (id && /^heading(\d)$/i.test(id)) level = Number(/(\d)$/.exec(id)![1]);
        break;
      }
      case 'w:outlineLvl':
        if (level === 0) level = Number(attr(attrs, 'w:val') ?? 9) + 1;
        break;
      case 'w:p':
        if (opening && !selfClose) {
          para = '';
          level = 0;
        } else if (!opening) {
          const t = para.replace(/\s+$/, '');
          if (cell) cell.push(t.replace(/\s*\n\s*/g, ' '));
          else if (t.trim()) blocks.push(level >= 1 && level <= 6 ? `${'#'.repeat(level)} ${t.replace(/\s+/g, ' ').trim()}` : t);
        }
        break;
      case 'w:tbl':
        tableDepth += opening ? 1 : -1;
        if (opening) rowsInTable = 0;
        break;
      case 'w:tr':
        if (opening && tableDepth === 1) row = [];
        else if (!opening && tableDepth === 1 && row) {
          const line = `| ${row.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
          const sep = rowsInTable === 0 ? `\n|${row.map(() => ' --- ').join('|')}|` : '';
          // Rows of one table stay in one block so the table reads as a unit.
          if (rowsInTable === 0) blocks.push(line + sep);
          else blocks[blocks.length - 1] += `\n${line}`;
          rowsInTable++;
          row = null;
        }
        break;
      case 'w:tc':
        if (opening && tableDepth === 1) cell = [];
        else if (!opening && tableDepth === 1 && cell) {
          row?.push(cell.filter((c) => c.trim()).join(' '));
          cell = null;
        }
        break;
      default:
        break;
    }
  }
  return fromText(blocks.join('\n\n'), { markdown: true });
}
