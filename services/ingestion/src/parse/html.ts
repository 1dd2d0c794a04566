import { parse, NodeType, type HTMLElement, type Node } from 'node-html-parser';
import { fromText, type ParsedDocument } from './parsed-document.js';

const DROP = new Set(['script', 'style', 'noscript', 'template', 'nav', 'footer', 'aside', 'form', 'iframe', 'svg', 'canvas', 'button', 'select', 'head']);
const BLOCK = new Set(['p', 'div', 'section', 'article', 'main', 'blockquote', 'pre', 'ul', 'ol', 'dl', 'dt', 'dd', 'figure', 'figcaption', 'address', 'header', 'table', 'body']);
const BOILERPLATE_ROLE = /^(navigation|banner|contentinfo|complementary|search)$/i;
// Whole class or id tokens only: a substring match would drop `<body class="no-sidebar">` or a
// `#menu-wrapper` that wraps the page, and with it everything.
const BOILERPLATE_TOKENS = new Set([
  'cookie', 'cookies', 'cookie-banner', 'cookie-notice', 'cookie-consent', 'breadcrumb', 'breadcrumbs', 'sidebar',
  'site-nav', 'menu', 'nav-menu', 'main-menu', 'advert', 'advertisement', 'ad-banner', 'share-buttons', 'social-share',
]);

function isBoilerplate(el: HTMLElement): boolean {
  const tag = el.rawTagName?.toLowerCase() ?? '';
  if (DROP.has(tag)) return true;
  const role = el.getAttribute('role');
  if (role && BOILERPLATE_ROLE.test(role)) return true;
  if (el.getAttribute('aria-hidden') === 'true' || el.hasAttribute('hidden')) return true;
  // A page-level header (site banner) is boilerplate; a header inside an article is content.
  if (tag === 'header' && !el.closest('article, main')) return true;
  const tokens = `${el.getAttribute('class') ?? ''} ${el.getAttribute('id') ?? ''}`.toLowerCase().split(/\s+/);
  return tokens.some((t) => BOILERPLATE_TOKENS.has(t));
}

const squash = (s: string) => s.replace(/\s+/g, ' ');

/**
 * HTML -> Markdown-like text of the main content: `<main>`/`<article>` when present, else the body,
 * without scripts, styles, navigation, footers and other boilerplate. Headings become `#` lines
 * (heading paths for chunks), links keep their target as `[text](href)`, tables become rows.
 */
export function parseHtml(html: string): ParsedDocument {
  const root = parse(html, { comment: false, blockTextElements: { script: false, style: false, noscript: false, pre: true } });
  const main = root.querySelector('main') ?? root.querySelector('[role=main]') ?? root.querySelector('article') ?? root.querySelector('body') ?? root;
  const blocks: string[] = [];
  let line = '';
  const flush = () => {
    const t = line.replace(/[ \t]+/g, ' ').trim();
    if (t) blocks.push(t);
    line = '';
  };
  const inline = (node: Node): string => {
    if (node.nodeType === NodeType.TEXT_NODE) return squash(node.text);
    if (node.nodeType !== NodeType.ELEMENT_NODE) return '';
    const el = node as HTMLElement;
    if (isBoilerplate(el)) return '';
    const tag = el.rawTagName?.toLowerCase();
    if (tag === 'br') return '\n';
    const inner = el.childNodes.map(inline).join('');
    if (tag === 'a') {
      const href = el.getAttribute('href');
      return href && /^(https?:|mailto:|\/)/i.test(href) && inner.trim() ? `[${inner.trim()}](${href})` : inner;
    }
    return inner;
  };
  const walk = (node: Node) => {
    if (node.nodeType === NodeType.TEXT_NODE) {
      line += squash(node.text);
      return;
    }
    if (node.nodeType !== NodeType.ELEMENT_NODE) return;
    const el = node as HTMLElement;
    if (el !== main && isBoilerplate(el)) return;
    const tag = el.rawTagName?.toLowerCase() ?? '';
    const heading = /^h([1-6])$/.exec(tag);
    if (heading) {
      flush();
      const t = squash(inline(el)).trim();
      if (t) blocks.push(`${'#'.repeat(Number(heading[1]))} ${t}`);
      return;
    }
    if (tag === 'tr') {
      flush();
      const cells = el.childNodes.filter((c) => c.nodeType === NodeType.ELEMENT_NODE && /^t[hd]$/i.test((c as HTMLElement).rawTagName ?? ''));
      const row = `| ${cells.map((c) => squash(inline(c)).trim().replace(/\|/g, '\\|')).join(' | ')} |`;
      blocks.push(row);
      return;
    }
    if (tag === 'li') {
      flush();
      line = '- ';
      for (const c of el.childNodes) walk(c);
      flush();
      return;
    }
    if (tag === 'pre') {
      flush();
      blocks.push(el.text.replace(/\s+$/, ''));
      return;
    }
    if (tag === 'a' || tag === 'br') {
      line += inline(el);
      return;
    }
    const block = BLOCK.has(tag) || tag === 'li';
    if (block) flush();
    for (const c of el.childNodes) walk(c);
    if (block) flush();
  };
  walk(main);
  flush();
  // Table rows are separate blocks above; join consecutive rows with single newlines.
  const text = blocks.join('\n\n').replace(/\|\n\n\|/g, '|\n|');
  return fromText(text, { markdown: true });
}
