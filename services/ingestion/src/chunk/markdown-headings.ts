/** A Markdown heading and where it starts in the document text. */
export interface HeadingMark {
  offset: number;
  level: number;
  title: string;
  /**
   * Where the heading's own lines end (the end of its last line, before the newline). Set by
   * findHeadings, whose setext headings may span lines; marks from other parsers leave it out.
   */
  end?: number;
}

// The rules below follow CommonMark (https://spec.commonmark.org/0.31.2/) closely enough for the
// heading paths of chunks, without building a document tree. They read lines with the `\r` of a CRLF
// ending removed, but offsets always count the text as it is.

// Every line is read in time linear in its length: a crafted line (a long run of spaces, backticks,
// `#`) must not stall a worker or the upload handler. So ATX headings are scanned by hand, and no
// pattern below backtracks into a run it has matched (`(.*)$` after a run did, on a lone `\r`).
const SETEXT = /^(=+|-+)[ \t]*$/;
const FENCE_RUN = /^(`{3,}|~{3,})/;
const THEMATIC_BREAK = /^(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const LIST_MARKER = /^([-+*]|\d{1,9}[.)])(?=[ \t]|$)([ \t]*)/;
// Line breaks other than `\n` left inside a line (a lone `\r`): such a line opens no fence, list
// item or ATX heading, as when these were read with `.`, which stops at them.
const INNER_BREAK = /[\r\u2028\u2029]/;
const LINK_DEFINITION = /^\[[^\]]+\]:[ \t]*\S/;
// A GFM table's delimiter row: cells of dashes with optional alignment colons.
const TABLE_DELIMITER = /^\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

const HTML_BLOCK_ENDS: { start: RegExp; end: RegExp }[] = [
  { start: /^<(script|pre|style|textarea)(\s|>|$)/i, end: /<\/(script|pre|style|textarea)>/i },
  { start: /^<!--/, end: /-->/ },
  { start: /^<\?/, end: /\?>/ },
  { start: /^<![A-Za-z]/, end: />/ },
  { start: /^<!\[CDATA\[/, end: /\]\]>/ },
];
const HTML_BLOCK_TAG =
  /^<\/?(address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h[1-6]|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul)(\s|\/?>|$)/i;
const HTML_LONE_TAG = /^(?:<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?)*\s*\/?>|<\/[A-Za-z][A-Za-z0-9-]*\s*>)\s*$/;

const withoutCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);

/** A setext underline (`===` or `---`), given one line of the text (a trailing `\r` is allowed). */
export function isSetextUnderline(line: string): boolean {
  const body = withoutCr(line);
  const { indent, rest } = splitIndent(body);
  return indent <= 3 && SETEXT.test(rest);
}

/** The line's indentation in columns (tabs to multiples of 4, as CommonMark counts) and the rest. */
function splitIndent(line: string): { indent: number; rest: string } {
  let column = 0;
  let i = 0;
  for (; i < line.length; i++) {
    if (line[i] === ' ') column++;
    else if (line[i] === '\t') column += 4 - (column % 4);
    else break;
  }
  return { indent: column, rest: line.slice(i) };
}

const spaceOrTab = (c: string | undefined) => c === ' ' || c === '\t';

/** An ATX heading (`## Title ##`), given the line without its indentation: its level and title, or null. */
function atxHeading(rest: string): { level: number; title: string } | null {
  let level = 0;
  while (level < 7 && rest[level] === '#') level++;
  if (level === 0 || level > 6 || (level < rest.length && !spaceOrTab(rest[level])) || INNER_BREAK.test(rest)) return null;
  let end = rest.length;
  while (end > level && spaceOrTab(rest[end - 1])) end--;
  // A closing run of `#` counts only after a space or tab: `# C#` keeps its `#`.
  let close = end;
  while (close > level && rest[close - 1] === '#') close--;
  if (close < end && spaceOrTab(rest[close - 1])) {
    end = close;
    while (end > level && spaceOrTab(rest[end - 1])) end--;
  }
  return { level, title: rest.slice(level, end).trim() };
}

/** A code fence line (given without its indentation): the marker run and the info string after it, or null. */
function fenceLine(rest: string): { marker: string; info: string } | null {
  const run = FENCE_RUN.exec(rest);
  if (!run || INNER_BREAK.test(rest)) return null;
  return { marker: run[1]!, info: rest.slice(run[1]!.length) };
}

/** A list item's marker, the spaces after it and its content, or null (given the line without its indentation). */
function listItem(rest: string): { marker: string; spaces: string; content: string } | null {
  const item = LIST_MARKER.exec(rest);
  if (!item || INNER_BREAK.test(rest)) return null;
  return { marker: item[1]!, spaces: item[2]!, content: rest.slice(item[0].length) };
}

/** YAML (`---`) or TOML (`+++`) front matter at the very start: metadata, not a thematic break and a heading. */
function frontMatterLines(lines: string[]): number {
  const first = withoutCr(lines[0] ?? '').replace(/^\uFEFF/, '');
  const open = /^(---|\+\+\+)[ \t]*$/.exec(first);
  if (!open) return 0;
  const close = open[1] === '---' ? /^(---|\.\.\.)[ \t]*$/ : /^\+\+\+[ \t]*$/;
  for (let i = 1; i < lines.length; i++) if (close.test(withoutCr(lines[i]!))) return i + 1;
  return 0;
}

/** Code spans (a backtick run closed by one of the same length) and backslash escapes, in order. */
function literalSpans(raw: string): { start: number; end: number; text: string }[] {
  const runs = [...raw.matchAll(/`+/g)].map((m) => ({ at: m.index, length: m[0].length }));
  const spans: { start: number; end: number; text: string }[] = [];
  for (let i = 0; i < runs.length; i++) {
    const j = runs.findIndex((r, k) => k > i && r.length === runs[i]!.length);
    if (j < 0) continue;
    const start = runs[i]!.at;
    const end = runs[j]!.at + runs[j]!.length;
    spans.push({ start, end, text: raw.slice(start + runs[i]!.length, runs[j]!.at).replace(/^ (.*[^ ].*) $/, '$1') });
    i = j;
  }
  const escapes = [...raw.matchAll(/\\([!-/:-@[-`{-~])/g)].filter((m) => !spans.some((c) => m.index < c.end && m.index + 2 > c.start));
  return [...spans, ...escapes.map((m) => ({ start: m.index, end: m.index + 2, text: m[1]! }))].sort((a, b) => a.start - b.start);
}

const MAX_STYLED_TITLE = 1000;
// Characters the passes below act on (the placeholders included): a title without any is plain words.
const STYLED = /[[`\\*_~<\uE000\uE001]/;

/** A heading's text without its Markdown syntax: links and images keep their text, code and emphasis lose their markers. */
export function headingTitle(raw: string): string {
  // The link patterns backtrack on long runs of brackets; a real title, badges and all, is shorter.
  // Plain titles skip the passes: a file of many short headings costs one replace each.
  if (raw.length > MAX_STYLED_TITLE || !STYLED.test(raw)) return raw.replace(/\s+/g, ' ').trim();
  // Literal text is set aside (as numbered placeholders) while the other syntax is removed.
  const clean = raw.replace(/[\uE000\uE001]/g, '');
  const literals = literalSpans(clean);
  let out = '';
  let last = 0;
  literals.forEach((span, i) => {
    out += `${clean.slice(last, span.start)}\uE000${i}\uE001`;
    last = span.end;
  });
  out += clean.slice(last);
  out = out.replace(/!\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])/g, '$1');
  // Twice, for a link whose text held an image (a badge).
  for (let i = 0; i < 2; i++) out = out.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1');
  out = out.replace(/<((?:https?|mailto|ftp):[^\s<>]*)>/gi, '$1');
  out = out.replace(/(\*\*|__|~~)(?=\S)([\s\S]*?\S)\1/g, '$2');
  out = out.replace(/\*(?=[^\s*])((?:[^*]*?[^\s*])?)\*/g, '$1');
  // An underscore only marks emphasis at a word's edge: snake_case names keep theirs.
  out = out.replace(/(^|[^\w])_(?=[^\s_])((?:[^_]*?[^\s_])?)_(?!\w)/g, '$1$2');
  out = out.replace(/\uE000(\d+)\uE001/g, (_, i: string) => literals[Number(i)]!.text);
  const title = out.replace(/\s+/g, ' ').trim();
  return title || raw.trim();
}

interface Paragraph {
  offset: number;
  lines: string[];
  /** Whether a setext underline may turn it into a heading (not a list item's or a quote's text, a table, or link definitions). */
  titleOk: boolean;
  /** The container column it started in: an underline indented less belongs to no paragraph. */
  base: number;
}

interface Fence {
  char: string;
  length: number;
  /** The column of the list item content it opened in: a non-blank line indented less ends the item, and the fence. */
  base: number;
}

/**
 * ATX (`## Title`) and setext (`Title` over `===`) headings, not counting code, HTML blocks, block
 * quotes and front matter. List items are followed by their content column only, so that a fence
 * indented under an item opens and closes there.
 */
export function findHeadings(text: string): HeadingMark[] {
  const marks: HeadingMark[] = [];
  const lines = text.split('\n');
  const skip = frontMatterLines(lines);
  let offset = 0;
  for (let i = 0; i < skip; i++) offset += lines[i]!.length + 1;

  // Content columns of the list items the current line may belong to, innermost last.
  const lists: number[] = [];
  let fence: Fence | null = null;
  let html: RegExp | 'blank' | null = null;
  let paragraph: Paragraph | null = null;
  let table = false;
  const baseFor = (indent: number) => {
    for (let k = lists.length - 1; k >= 0; k--) if (lists[k]! <= indent) return lists[k]!;
    return 0;
  };

  for (let n = skip; n < lines.length; n++, offset += lines[n - 1]!.length + 1) {
    const raw = lines[n]!;
    const line = withoutCr(raw);
    const blank = /^[ \t]*$/.test(line);
    const { indent, rest } = splitIndent(line);
    const lineEnd = offset + line.length;

    if (fence) {
      if (!blank && indent < fence.base) {
        fence = null;
      } else {
        const close = indent - fence.base <= 3 ? fenceLine(rest) : null;
        if (close && close.marker[0] === fence.char && close.marker.length >= fence.length && close.info.trim() === '') fence = null;
        continue;
      }
    }
    if (html) {
      if (html === 'blank' ? blank : html.test(line)) html = null;
      continue;
    }
    if (blank) {
      paragraph = null;
      table = false;
      continue;
    }

    const rel = indent - baseFor(indent);
    const fenceOpen = rel <= 3 ? fenceLine(rest) : null;
    const opensFence = fenceOpen !== null && !(fenceOpen.marker[0] === '`' && fenceOpen.info.includes('`'));
    const atx = rel <= 3 ? atxHeading(rest) : null;
    const thematic = rel <= 3 && THEMATIC_BREAK.test(rest);
    const quote = rel <= 3 && rest.startsWith('>');
    const list = rel <= 3 && !thematic ? listItem(rest) : null;
    const htmlEnd = rel <= 3 ? HTML_BLOCK_ENDS.find((h) => h.start.test(rest)) : undefined;
    const htmlBlock = htmlEnd !== undefined || (rel <= 3 && (HTML_BLOCK_TAG.test(rest) || (!paragraph && HTML_LONE_TAG.test(rest))));
    // Markers that may not interrupt a paragraph: an empty item, or an ordered list not starting at 1.
    const listInterrupts = list !== null && list.content.trim() !== '' && (/^[-+*]/.test(list.marker) || /^0*1[.)]$/.test(list.marker));
    const startsBlock = opensFence || atx !== null || thematic || quote || htmlBlock || (list !== null && (!paragraph || listInterrupts));

    // A line indented less than the innermost item's content leaves it, unless it lazily continues a paragraph.
    if (lists.length > 0 && indent < lists[lists.length - 1]! && (startsBlock || !paragraph || isSetextUnderline(line))) {
      while (lists.length > 0 && lists[lists.length - 1]! > indent) lists.pop();
      if (paragraph && paragraph.base > indent) paragraph = null;
    }

    if (paragraph && rel <= 3 && SETEXT.test(rest) && indent >= paragraph.base) {
      if (paragraph.titleOk) {
        marks.push({ offset: paragraph.offset, level: rest.startsWith('=') ? 1 : 2, title: headingTitle(paragraph.lines.join(' ')), end: lineEnd });
        paragraph = null;
        continue;
      }
      if (!thematic) {
        paragraph.lines.push(rest);
        continue;
      }
    }

    if (opensFence) {
      fence = { char: fenceOpen.marker[0]!, length: fenceOpen.marker.length, base: baseFor(indent) };
      paragraph = null;
    } else if (atx) {
      if (atx.title) marks.push({ offset, level: atx.level, title: headingTitle(atx.title), end: lineEnd });
      paragraph = null;
    } else if (thematic) {
      paragraph = null;
    } else if (htmlBlock) {
      const end = htmlEnd?.end;
      html = end ? (end.test(rest.slice(1)) ? null : end) : 'blank';
      paragraph = null;
    } else if (quote) {
      paragraph = { offset, lines: [rest], titleOk: false, base: baseFor(indent) };
    } else if (list && (!paragraph || listInterrupts)) {
      const marker = list.marker.length;
      const spaces = splitIndent(' '.repeat(indent + marker) + list.spaces).indent - indent - marker;
      const content = list.content.trim() === '' || spaces > 4 ? 1 : spaces;
      while (lists.length > 0 && lists[lists.length - 1]! > indent) lists.pop();
      lists.push(indent + marker + content);
      paragraph = list.content.trim() ? { offset, lines: [list.content], titleOk: false, base: indent + marker + content } : null;
      table = false;
    } else if (paragraph) {
      if (!table && paragraph.lines.length === 1 && paragraph.lines[0]!.includes('|') && rest.includes('|') && TABLE_DELIMITER.test(rest)) table = true;
      if (table || rest.startsWith('|')) paragraph.titleOk = false;
      paragraph.lines.push(rest);
    } else if (rel >= 4) {
      // Indented code.
    } else {
      paragraph = { offset, lines: [rest], titleOk: !rest.startsWith('|') && !LINK_DEFINITION.test(rest), base: baseFor(indent) };
    }
  }
  return marks;
}

/** The headings in force at `offset`: a chunk that starts with a heading is under that heading. */
export function headingPathAt(marks: HeadingMark[], offset: number): string[] {
  const stack: HeadingMark[] = [];
  for (const mark of marks) {
    if (mark.offset > offset) break;
    while (stack.length > 0 && stack[stack.length - 1]!.level >= mark.level) stack.pop();
    stack.push(mark);
  }
  return stack.map((m) => m.title);
}
