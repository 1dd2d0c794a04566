import type { DefaultTreeAdapterTypes } from 'parse5';

/** Small read-only helpers over parse5's default tree (it has no querySelector or closest). */

export type HtmlNode = DefaultTreeAdapterTypes.Node;
export type HtmlElement = DefaultTreeAdapterTypes.Element;

export const isElement = (node: HtmlNode): node is HtmlElement => 'tagName' in node;

export const isText = (node: HtmlNode): node is DefaultTreeAdapterTypes.TextNode => node.nodeName === '#text';

export const childrenOf = (node: HtmlNode): HtmlNode[] => ('childNodes' in node ? node.childNodes : []);

export function attr(el: HtmlElement, name: string): string | null {
  for (const a of el.attrs) if (a.name === name) return a.value;
  return null;
}

export const classTokens = (el: HtmlElement): string[] => (attr(el, 'class') ?? '').toLowerCase().split(/\s+/).filter(Boolean);

export function parentElement(node: HtmlNode): HtmlElement | null {
  const parent = 'parentNode' in node ? node.parentNode : null;
  return parent && isElement(parent) ? parent : null;
}

export function closest(node: HtmlNode, match: (el: HtmlElement) => boolean): HtmlElement | null {
  for (let el = isElement(node) ? node : parentElement(node); el; el = parentElement(el)) if (match(el)) return el;
  return null;
}

/**
 * Elements under `root` in document order, without descending into those `skip` rejects.
 * Iterative: a page of thousands of nested elements must not overflow the stack here.
 */
export function* descendants(root: HtmlNode, skip: (el: HtmlElement) => boolean = () => false): Generator<HtmlElement> {
  const stack: HtmlNode[] = [...childrenOf(root)].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!isElement(node) || skip(node)) continue;
    yield node;
    const kids = childrenOf(node);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
}

export function find(root: HtmlNode, match: (el: HtmlElement) => boolean): HtmlElement | null {
  for (const el of descendants(root)) if (match(el)) return el;
  return null;
}

const LINE_BLOCKS = new Set(['div', 'p', 'li', 'tr', 'dt', 'dd', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

const NOT_CODE = new Set(['script', 'style', 'template', 'button', 'select', 'svg']);
// Line numbers (rustdoc's source view marks them `data-nosnippet`) and copy buttons are chrome.
const hiddenInCode = (el: HtmlElement) => NOT_CODE.has(el.tagName) || attr(el, 'data-nosnippet') !== null || attr(el, 'aria-hidden') === 'true';

/** The text a browser would render for a `<pre>`: every text node, whitespace as written. */
export function plainText(root: HtmlNode): string {
  let out = '';
  const stack: HtmlNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (isText(node)) out += node.value;
    else if (isElement(node) && node.tagName === 'br') out += '\n';
    else if (!isElement(node) || !hiddenInCode(node)) {
      // A block inside a <pre> (rustdoc's `<div class="where">`) starts a line on screen.
      if (isElement(node) && LINE_BLOCKS.has(node.tagName) && out && !out.endsWith('\n')) out += '\n';
      const kids = childrenOf(node);
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    }
  }
  return out;
}
