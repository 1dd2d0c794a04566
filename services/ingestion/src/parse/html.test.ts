import { findHeadings } from '../chunk/markdown-headings.js';
import { parseHtml } from './html.js';

const text = (html: string) => parseHtml(html).text;
const titles = (t: string) => findHeadings(t).map((h) => `${'#'.repeat(h.level)} ${h.title}`);

describe('parseHtml', () => {
  test('a few hundred KB of unclosed <p>, <dt> and <dd> parses in linear time', () => {
    // Shaped like socat's man page (/usr/share/doc/socat/socat.html, 242 KB), which node-html-parser
    // took ~30 s on (20 KB 53 ms, 40 KB 303 ms, 80 KB 2.3 s). parse5 takes well under a second; the
    // bound is generous so that a loaded CI machine does not flake.
    const entries = Array.from(
      { length: 2500 },
      (_, i) => `<dt><code><strong>option-${i}</strong></code><dd>Sets option ${i}. See <a href="#x">there</a>.\n<p>More on ${i}<p>And more.`,
    );
    const html = `<html><body><h1>socat</h1><h2>OPTIONS</h2><dl>${entries.join('\n')}</dl></body></html>`;
    expect(html.length).toBeGreaterThan(300_000);
    const started = performance.now();
    const out = text(html);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(out).toContain('option-2499\n\nSets option 2499. See there.\n\nMore on 2499\n\nAnd more.');
  });

  test('<pre> becomes a fence of its plain text: no markup, `#` lines not headings, the language from its class', () => {
    const html = `<main><h1>Build</h1><pre><code class="language-sh"><span class="c"># install it</span>
<span class="kw">cargo</span> install   quire
## not a heading either</code></pre><p>After.</p></main>`;
    const out = text(html);
    expect(out).toBe('# Build\n\n```sh\n# install it\ncargo install   quire\n## not a heading either\n```\n\nAfter.');
    expect(titles(out)).toEqual(['# Build']);
  });

  test('code containing a ``` fence gets a longer fence, so the block cannot end early', () => {
    const out = text('<pre class="lang-markdown">Intro\n```rust\nfn main() {}\n```\n# Title</pre><h2>Next</h2>');
    expect(out).toBe('````markdown\nIntro\n```rust\nfn main() {}\n```\n# Title\n````\n\n## Next');
    expect(titles(out)).toEqual(['## Next']);
  });

  test('permalink markers (§, ¶, # anchors) are not heading text; other in-page links keep their text', () => {
    const html = `<body>
      <h1 id="a"><a class="doc-anchor" href="#a">§</a>Examples</h1>
      <h2 id="b">Install<a class="headerlink" href="#b" title="Permalink">¶</a></h2>
      <h3 id="c"><a href="#c">#</a> Usage <a href="#c" aria-label="link">¶</a></h3>
      <h3 id="d"><a class="anchor" href="#d"></a>Options</h3>
      <h2 id="e"><a class="header" href="#e">Linked title</a></h2>
      <p>See <a href="#b">the install section</a>.</p></body>`;
    const out = text(html);
    expect(titles(out)).toEqual(['# Examples', '## Install', '### Usage', '### Options', '## Linked title']);
    expect(out).toContain('See the install section.');
    expect(out).not.toMatch(/[§¶]/);
  });

  test('a list item whose text is in a <p> gets its marker on that text, not a lone "-"', () => {
    const out = text('<ul><li><p>First <b>item</b></p><p>More of it.</p></li><li>\n<p>Second</p></li><li><p></p></li></ul>');
    expect(out).toBe('- First item\n\nMore of it.\n\n- Second');
  });

  test('doctype, comments and processing instructions never become text, with or without <body>', () => {
    expect(text('<!DOCTYPE html>\n<!-- built by x -->\n<title>T</title>\n<h1>Gateway</h1><p>Running.</p>')).toBe('# Gateway\n\nRunning.');
    expect(text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x.dtd">\n<html><p>Body <!-- hidden --> text</p></html>')).toBe(
      'Body text',
    );
    expect(text('<!doctype html>')).toBe('');
  });

  test('a line after <br> starts without a space', () => {
    expect(text('<p>NAME<br>\n  SYNOPSIS <br/> socat [options]</p>')).toBe('NAME\nSYNOPSIS\nsocat [options]');
  });

  test('every top-level <article> is content, not only the first', () => {
    const html = `<body><nav>Menu</nav><article><h2>First post</h2><p>One.</p></article>
      <aside><article><p>Related teaser</p></article></aside>
      <article><h2>Second post</h2><p>Two.</p><article><p>A quoted reply.</p></article></article></body>`;
    const out = text(html);
    expect(out).toBe('## First post\n\nOne.\n\n## Second post\n\nTwo.\n\nA quoted reply.');
  });

  test('a page-level <header> holding the page h1 keeps it; a banner <header> with navigation is dropped', () => {
    const page = `<body><header class="site"><a href="/">Logo</a><nav><a href="/a">About</a></nav></header>
      <header><h1>Quarterly report</h1><p>By the finance team</p></header>
      <div><h2>Revenue</h2><p>Up 4%.</p></div></body>`;
    const out = text(page);
    expect(out).toBe('# Quarterly report\n\nBy the finance team\n\n## Revenue\n\nUp 4%.');
    // The title stands before <main>: it still roots the heading paths of what <main> holds.
    const withMain = text('<body><header><h1>Handbook</h1></header><main><h2>Leave</h2><p>30 days.</p></main><footer>f</footer></body>');
    expect(withMain).toBe('# Handbook\n\n## Leave\n\n30 days.');
    expect(text('<body><div class="menu-bar"><h1>Site</h1></div><main><h1>Page</h1></main></body>')).toBe('# Page');
  });

  test('tables: a header row of <th> becomes a Markdown table header; cells of block content keep a space', () => {
    const html = `<table><caption>Limits</caption><thead><tr><th>Plan</th><th>Docs</th></tr></thead>
      <tbody><tr><td><p>Free</p><p>tier</p></td><td>100</td></tr><tr><td>A | B</td><td>1<br>000</td></tr></tbody></table>`;
    expect(text(html)).toBe('Limits\n\n| Plan | Docs |\n| --- | --- |\n| Free tier | 100 |\n| A \\| B | 1 000 |');
  });

  test('tables: a first row of <td> cells is the header too (wiki and office exports write it so); one row is not a table', () => {
    const html = '<table><tr><td><b>Region</b></td><td><b>Q1</b></td></tr><tr><td>North</td><td>12</td></tr><tr><td>South</td><td>9</td></tr></table>';
    expect(text(html)).toBe('| Region | Q1 |\n| --- | --- |\n| North | 12 |\n| South | 9 |');
    expect(text('<table><tr><td>Only</td><td>row</td></tr></table>')).toBe('| Only | row |');
  });

  test('text that reads as Markdown structure is escaped, so it gives no fake heading or fence', () => {
    const out = text('<h1>Real</h1><p># not a heading</p><p>```</p><h2>Still found</h2><p>Title<br>---</p><p>&lt;pre> opens a block</p><h2>After</h2>');
    expect(titles(out)).toEqual(['# Real', '## Still found', '## After']);
    expect(out).toContain('\\<pre> opens a block');
    expect(out).toContain('\\# not a heading');
  });
});

describe('parseHtml: tables with merged cells', () => {
  const table = (rows: string) => `<main><table>${rows}</table></main>`;

  test('a rowspan cell repeats down the rows it covers; a colspan cell fills its first column, the others stay empty', () => {
    const html = table(
      '<tr><th>Region</th><th>Quarter</th><th>Revenue</th></tr>' +
        '<tr><td rowspan="2">North</td><td>Q1</td><td>100</td></tr>' +
        '<tr><td>Q2</td><td>120</td></tr>' +
        '<tr><td colspan="2">Total</td><td>220</td></tr>',
    );
    expect(text(html)).toBe('| Region | Quarter | Revenue |\n| --- | --- | --- |\n| North | Q1 | 100 |\n| North | Q2 | 120 |\n| Total |  | 220 |');
  });

  test('spans in the middle and at the end of rows, a block spanning both ways, short rows padded, rowspan="0" to the end', () => {
    const html = table(
      '<tr><td>A</td><td>B</td><td>C</td><td>D</td></tr>' +
        '<tr><td>a1</td><td rowspan="2" colspan="2">mid</td><td rowspan="3">end</td></tr>' +
        '<tr><td>a2</td></tr>' +
        '<tr><td>a3</td><td>b3</td></tr>' +
        '<tr><td rowspan="0">all</td><td>b4</td><td>c4</td><td>d4</td></tr>' +
        '<tr><td>b5</td></tr>',
    );
    expect(text(html).split('\n').slice(2)).toEqual([
      '| a1 | mid |  | end |',
      '| a2 | mid |  | end |',
      '| a3 | b3 |  | end |',
      '| all | b4 | c4 | d4 |',
      '| all | b5 |  |  |',
    ]);
  });

  test('spans written to be huge neither hang nor blow up the text: such a table is read as written', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `<tr><td>${i}</td></tr>`).join('');
    const started = performance.now();
    const out = text(table(`<tr><td colspan="1000" rowspan="65534">x</td></tr>${rows}`));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(out.length).toBeLessThan(20_000 * 12);
    expect(out.split('\n')[2]).toBe('| 0 |');
  });
});

describe('parseHtml: menus, headers and footers built of divs', () => {
  test('an intranet page whose menu and footer are divs (class "navbar", id "footer") keeps only its content', () => {
    const html = '<!doctype html><html><head><title>Remote work</title></head><body>' +
      '<div class="navbar"><a href="/">Home</a> | <a href="/about">About</a> | <a href="/contact">Contact</a></div>' +
      '<div class="content"><h1>Remote work</h1><p>Staff may work remotely two days a week.</p></div>' +
      '<div id="footer">Copyright ACME 2024. All rights reserved. Privacy | Terms</div></body></html>';
    expect(text(html)).toBe('# Remote work\n\nStaff may work remotely two days a week.');
  });

  test('a banner div (id "header": logo and menu) is dropped like a banner <header>; one holding the page h1 is its title', () => {
    const banner = '<div id="header"><img alt="ACME"><ul class="nav"><li><a href="/">Home</a></li></ul><p>Call us: 555-0100</p></div>';
    expect(text(`<body>${banner}<h1>Expenses</h1><p>Keep receipts.</p></body>`)).toBe('# Expenses\n\nKeep receipts.');
    expect(text('<body><div class="masthead">ACME intranet</div><p>Keep receipts.</p></body>')).toBe('Keep receipts.');
    expect(text('<body><div class="header"><h1>Expenses</h1></div><main><h2>Receipts</h2><p>Keep them.</p></main></body>')).toBe('# Expenses\n\n## Receipts\n\nKeep them.');
  });

  test('whole tokens only: section-header, card-header and a header div inside <main> keep their body text', () => {
    const html = '<body><div class="section-header"><h2>Travel</h2><p>Book two weeks ahead.</p></div>' +
      '<div class="card-header">Meals</div><div id="navigation-help"><p>Use the index.</p></div>' +
      '<div class="unavailable-dates">Closed 24 Dec.</div><a class="footer-link" href="/x">Policy list</a></body>';
    expect(text(html)).toBe('## Travel\n\nBook two weeks ahead.\n\nMeals\n\nUse the index.\n\nClosed 24 Dec.\n\n[Policy list](/x)');
    expect(text('<main><div class="header"><h2>Receipts</h2><p>Keep them.</p></div></main>')).toBe('## Receipts\n\nKeep them.');
  });
});
