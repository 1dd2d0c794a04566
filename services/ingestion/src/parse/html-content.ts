import { attr, childrenOf, classTokens, closest, descendants, find, isElement, plainText, type HtmlElement, type HtmlNode } from './html-dom.js';

const DROP = new Set(['script', 'style', 'noscript', 'template', 'nav', 'footer', 'aside', 'form', 'iframe', 'svg', 'canvas', 'button', 'select', 'head']);
const BOILERPLATE_ROLE = /^(navigation|banner|contentinfo|complementary|search)$/i;
// Whole class or id tokens only: a substring match would drop `<body class="no-sidebar">` or a
// `#menu-wrapper` that wraps the page, and with it everything, and `nav` would drop an
// `unavailable-dates` table. Footers and menus built of divs (`<div id="footer">`, Bootstrap's
// `navbar`) are dropped wherever they are, as `<footer>` and `<nav>` are.
const NAV_TOKENS = new Set([
  'site-nav', 'menu', 'nav-menu', 'main-menu', 'nav', 'navbar', 'nav-bar', 'navigation', 'main-nav', 'main-navigation',
  'site-navigation', 'topnav', 'top-nav',
]);
const BOILERPLATE_TOKENS = new Set([
  ...NAV_TOKENS, 'cookie', 'cookies', 'cookie-banner', 'cookie-notice', 'cookie-consent', 'breadcrumb', 'breadcrumbs',
  'sidebar', 'advert', 'advertisement', 'ad-banner', 'share-buttons', 'social-share', 'footer', 'site-footer',
  'page-footer', 'global-footer', 'skip-link', 'skip-links',
]);
// Divs (and sections) that play `<header>` and get its rule (bannerHeaders), not a plain drop: at
// page level a site banner, unless it holds the page's h1 and no navigation (a title block); inside
// `<main>` or an `<article>` content (a card's or section's header). Whole tokens again: `section-header`,
// `card-header` and `entry-header` are not header-like and are always read.
const HEADER_TOKENS = new Set(['header', 'site-header', 'global-header', 'top-header', 'masthead']);
const PERMALINK_CLASSES = new Set(['headerlink', 'anchor', 'doc-anchor']);
const PERMALINK_TEXT = /^[\s§¶#]*$/;

const tokensOf = (el: HtmlElement) => `${attr(el, 'class') ?? ''} ${attr(el, 'id') ?? ''}`.toLowerCase().split(/\s+/);
const isNav = (el: HtmlElement) => el.tagName === 'nav' || /^navigation$/i.test(attr(el, 'role') ?? '') || tokensOf(el).some((t) => NAV_TOKENS.has(t));
// Only containers play `<header>`: `<a class="header">` in a heading is the heading's text.
const isHeader = (el: HtmlElement) => el.tagName === 'header' || ((el.tagName === 'div' || el.tagName === 'section') && tokensOf(el).some((t) => HEADER_TOKENS.has(t)));

/**
 * A page-level `<header>` (or a div named as one, HEADER_TOKENS) is usually the site banner (logo,
 * menu) and is dropped; one that holds a heading 1 and no navigation is the page's own title block
 * (blogs, Sphinx themes), whose h1 roots every heading path below it. Navigation is `<nav>`,
 * role=navigation or a menu's class or id (NAV_TOKENS). Found in one post-order pass, so nested
 * headers stay linear.
 */
function bannerHeaders(root: HtmlNode): Set<HtmlElement> {
  const banners = new Set<HtmlElement>();
  const open: { nav: boolean; h1: boolean; pageLevel: boolean }[] = [];
  let inContent = 0;
  const stack: (HtmlNode | { exit: HtmlElement })[] = [root];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('exit' in item) {
      const el = item.exit;
      if (el.tagName === 'article' || el.tagName === 'main') inContent--;
      if (el === root || !isHeader(el)) continue;
      const h = open.pop()!;
      if (h.pageLevel && (h.nav || !h.h1)) banners.add(el);
      const parent = open[open.length - 1];
      if (parent) Object.assign(parent, { nav: parent.nav || h.nav, h1: parent.h1 || h.h1 });
      continue;
    }
    if (!isElement(item)) continue;
    const top = open[open.length - 1];
    if (top && isNav(item)) top.nav = true;
    if (top && item.tagName === 'h1') top.h1 = true;
    if (item !== root && isHeader(item)) open.push({ nav: false, h1: false, pageLevel: inContent === 0 });
    if (item.tagName === 'article' || item.tagName === 'main') inContent++;
    stack.push({ exit: item });
    const kids = childrenOf(item);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return banners;
}

/** The test for boilerplate elements (navigation, banners, footers, ads) of the page under `root`. */
export function boilerplateTest(root: HtmlNode): (el: HtmlElement) => boolean {
  const banners = bannerHeaders(root);
  return (el) => {
    const tag = el.tagName;
    if (DROP.has(tag) || banners.has(el)) return true;
    const role = attr(el, 'role');
    if (role && BOILERPLATE_ROLE.test(role)) return true;
    if (attr(el, 'aria-hidden') === 'true' || attr(el, 'hidden') !== null) return true;
    return tokensOf(el).some((t) => BOILERPLATE_TOKENS.has(t));
  };
}

/** Sphinx `¶`, rustdoc `§`, GitHub-style `#` anchors: clickable markers, not heading text. */
export function isPermalink(el: HtmlElement): boolean {
  if (el.tagName !== 'a' || !(attr(el, 'href') ?? '').startsWith('#')) return false;
  return classTokens(el).some((c) => PERMALINK_CLASSES.has(c)) || PERMALINK_TEXT.test(plainText(el));
}

const hasRole = (el: HtmlElement, role: string) => (attr(el, 'role') ?? '').toLowerCase() === role;

/**
 * Where the main content is: `<main>` (or role=main), else every top-level `<article>` (a blog
 * index or a feed has many, and all of them are content), else the body.
 */
export function contentRoots(body: HtmlElement, isBoilerplate: (el: HtmlElement) => boolean): HtmlElement[] {
  const main = find(body, (el) => el.tagName === 'main') ?? find(body, (el) => hasRole(el, 'main'));
  if (main) return [main];
  const articles = [...descendants(body, isBoilerplate)].filter((el) => el.tagName === 'article' && !articleParent(el));
  return articles.length > 0 ? articles : [body];
}

const articleParent = (el: HtmlElement) => closest(el, (a) => a !== el && a.tagName === 'article');

/**
 * The page's h1 when the content roots have none of their own but one stands before them, outside
 * any boilerplate (a title block above `<main>`): without it every heading path loses its root.
 */
export function titleBefore(body: HtmlElement, roots: HtmlElement[], isBoilerplate: (el: HtmlElement) => boolean): HtmlElement | null {
  if (roots.includes(body) || roots.some((r) => find(r, (d) => d.tagName === 'h1'))) return null;
  const first = roots[0]!;
  for (const el of descendants(body, isBoilerplate)) {
    if (el === first) return null;
    if (el.tagName === 'h1' && !insideAny(el, roots)) return el;
  }
  return null;
}

const insideAny = (node: HtmlNode, roots: HtmlElement[]) => closest(node, (a) => roots.includes(a)) !== null;
