import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chunkText } from './chunk-text.js';
import { findHeadings, headingTitle } from './markdown-headings.js';
import { fastestMs } from '../testing/fastest-ms.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../testing/text-files/${name}`, import.meta.url)), 'utf8');
const titles = (text: string) => findHeadings(text).map((h) => [h.level, h.title]);
const lineAt = (text: string, offset: number) => text.slice(offset, text.indexOf('\n', offset) < 0 ? undefined : text.indexOf('\n', offset));

describe('findHeadings on real files', () => {
  test('npm-install.md: front matter is skipped, and fences indented in list items open and close there', async () => {
    const text = fixture('npm-install.md');
    const marks = findHeadings(text);
    // Every `#` line outside code is a heading: none of them sits in a fence, and the front matter adds none.
    expect(marks.length).toBe(text.split('\n').filter((l) => /^#{1,6} /.test(l)).length);
    expect(marks.map((m) => m.title)).not.toContain('section: 1');
    expect(titles(text).slice(0, 3)).toEqual([[3, 'Synopsis'], [3, 'Description'], [4, 'How npm install uses package-lock.json']]);
    expect(titles(text).slice(-2)).toEqual([[3, 'Algorithm'], [3, 'See Also']]);
    // Code spans lose their backticks: "#### `save`" is titled "save".
    expect(titles(text)).toContainEqual([4, 'save']);
    for (const m of marks) expect(lineAt(text, m.offset)).toMatch(/^#{1,6} /);

    const chunks = await chunkText({ text, pages: null, markdown: true }, { strategy: 'recursive', chunk_size: 1000, chunk_overlap: 150 });
    expect(chunks.at(-1)!.headingPath).toEqual(['Algorithm']);
    const config = text.indexOf('#### `save`');
    expect(chunks.slice(0, -1).filter((c) => c.charStart > config).filter((c) => c.headingPath[0] !== 'Configuration' || c.headingPath.length !== 2)).toEqual([]);
    expect(chunks.filter((c) => c.headingPath.length === 0).map((c) => c.ordinal)).toEqual([0]);
    const gist = chunks.find((c) => c.text.includes('npm install gist:101a11beef'))!;
    expect(gist.headingPath).toEqual(['Description', 'How npm install uses package-lock.json']);
  });

  test('pyenv README: an ATX heading over a `----` rule is one heading, not a setext one too', () => {
    const text = fixture('pyenv-readme-excerpt.md');
    expect(titles(text)).toEqual([
      [2, 'Installation'],
      [3, 'A. Getting Pyenv'],
      [4, 'Linux/Unix'],
      [5, '1. Automatic installer (Recommended)'],
      [5, '2. Basic GitHub Checkout'],
    ]);
  });

  test('tslib README (CRLF): headings are found, offsets count the \\r, titles do not carry it', () => {
    const text = fixture('tslib-readme-crlf.md');
    expect(text).toContain('\r\n');
    const marks = findHeadings(text);
    expect(marks.map((m) => m.title)).toEqual(['tslib', 'Installing', 'npm', 'yarn', 'bower', 'JSPM', 'Usage', 'For bower and JSPM users', 'Deployment', 'Contribute', 'Documentation']);
    for (const m of marks) {
      expect(text.slice(m.offset).startsWith('#')).toBe(true);
      expect(text[m.end!]).toBe('\r');
    }
    const setext = 'Title\r\n=====\r\nbody\r\n\r\nPart\r\n----\r\n';
    expect(findHeadings(setext)).toEqual([
      { offset: 0, level: 1, title: 'Title', end: 12 },
      { offset: 22, level: 2, title: 'Part', end: 32 },
    ]);
  });
});

describe('findHeadings, CommonMark rules', () => {
  test('a closing fence has no info string and is at least as long as the opener', () => {
    const text = ['```js', '# not a heading', '```bash', '# still code', '``', '# still code', '````  ', '# Heading'].join('\n');
    expect(titles(text)).toEqual([[1, 'Heading']]);
    expect(titles(['~~~~', '# code', '~~~', '# code', '```', '~~~~~', '# Heading'].join('\n'))).toEqual([[1, 'Heading']]);
  });

  test('a fence under a list item opens at its indentation and closes within it; an unclosed one ends with the item', () => {
    const inItem = ['* item', '', '    ```bash', '    # comment', '   ```', '', '# After'].join('\n');
    expect(titles(inItem)).toEqual([[1, 'After']]);
    const leftItem = ['1. step', '', '   ```', '   # code', 'Back at the margin', '```', '# code', '```', '# Real'].join('\n');
    expect(titles(leftItem)).toEqual([[1, 'Real']]);
  });

  test('front matter is metadata, YAML or TOML, only at the very start and only when closed', () => {
    expect(titles('---\ntitle: x\ndescription: Run a security audit\n---\n\n# Body')).toEqual([[1, 'Body']]);
    expect(titles('+++\ntitle = "x"\n+++\n# Body')).toEqual([[1, 'Body']]);
    expect(titles('\uFEFF---\r\ndescription: y\r\n---\r\n# Body\r\n')).toEqual([[1, 'Body']]);
    expect(titles('Intro\n\n---\ntitle: x\n---\n')).toEqual([[2, 'title: x']]);
  });

  test('a setext underline needs a paragraph line above it', () => {
    expect(titles('### A. Getting Pyenv\n----\ntext')).toEqual([[3, 'A. Getting Pyenv']]);
    expect(titles('```\ncode\n```\n---\n')).toEqual([]);
    expect(titles('| a | b |\n|---|---|\n| 1 | 2 |\n---\n')).toEqual([]);
    expect(titles('<div>\nhtml\n---\n</div>\n')).toEqual([]);
    expect(titles('> quoted\n---\n')).toEqual([]);
    expect(titles('- item\n---\n')).toEqual([]);
    expect(titles('- item\n  continued\n  ---\n')).toEqual([]);
    expect(titles('\n---\n')).toEqual([]);
    expect(titles('[ref]: https://example.com\n---\n')).toEqual([]);
    expect(titles('Para\n---\n')).toEqual([[2, 'Para']]);
    // A paragraph of two lines is one title, starting at the first.
    expect(findHeadings('x\n\nOne\ntwo\n===\n')).toEqual([{ offset: 3, level: 1, title: 'One two', end: 14 }]);
  });

  test('HTML blocks, indented code and block quotes hold no headings', () => {
    expect(titles('<details>\n# inside\n\n# Outside')).toEqual([[1, 'Outside']]);
    expect(titles('<!--\n# commented\n-->\n# Outside')).toEqual([[1, 'Outside']]);
    expect(titles('text\n\n    # code\n> # quoted\n# Outside')).toEqual([[1, 'Outside']]);
  });
});

describe('headingTitle', () => {
  test('keeps the text of links, images, code and emphasis, without their syntax', () => {
    expect(headingTitle('[Homebrew](https://brew.sh) in macOS')).toBe('Homebrew in macOS');
    expect(headingTitle('`save`')).toBe('save');
    expect(headingTitle('[`npm install`](/commands/npm-install)')).toBe('npm install');
    expect(headingTitle('**Bold** and *em* and _under_ and ~~gone~~')).toBe('Bold and em and under and gone');
    expect(headingTitle('tslib [![Build](https://x/badge.svg)](https://x)')).toBe('tslib Build');
    expect(headingTitle('Link [by ref][1]')).toBe('Link by ref');
    // Literal text stays: snake_case, code with brackets, escapes.
    expect(headingTitle('snake_case_name and `a[b](c)`')).toBe('snake_case_name and a[b](c)');
    expect(headingTitle('route\\[method](handler)')).toBe('route[method](handler)');
    expect(headingTitle('Version 1.2.* *')).toBe('Version 1.2.* *');
  });

  test('findHeadings uses it', () => {
    expect(titles('##### [Homebrew](https://brew.sh) in macOS\n')).toEqual([[5, 'Homebrew in macOS']]);
  });
});


describe('findHeadings on crafted lines', () => {
  // 100,000 characters, the size of the uploads that froze ingestion: a pattern that backtracks over
  // a run takes seconds on them (one line of spaces in an ATX heading took 6 s at 80,000), a linear
  // scan a few milliseconds. The bound is generous for a busy machine.
  const N = 100_000;
  const BOUND_MS = 200;
  const starts = ['', '# x', '###### ', '- ', '1. ', '> ', '    ', '```', 'Para\n'];
  // A lone `\r` last: before, `# x`, spaces and `\rx` took minutes (cubic), so a slow case found
  // earlier ends the test first.
  const ends = ['', 'x', ' #a', '#', '\rx'];
  const cases = starts.flatMap((start) => ends.map((end) => [start, end] as const));

  test.each([' ', '#', '[', '(', '|', '`', '-', '=', '*', '_', '<', '\t'])('a line of %j runs, after any block start and before any end, is read in linear time', (run) => {
    const slow: string[] = [];
    for (const [start, end] of cases) {
      const text = start + run.repeat(N) + end;
      const ms = fastestMs(() => findHeadings(text), BOUND_MS);
      if (ms < BOUND_MS) continue;
      slow.push(`${JSON.stringify(start)} + ${JSON.stringify(run)} x ${N} + ${JSON.stringify(end)}: ${Math.round(ms)} ms`);
      break;
    }
    expect(slow).toEqual([]);
  });

  test('the reported heading (spaces around a word, a `#` at the end) is quick and still one heading', () => {
    const text = `#${' '.repeat(49_990)}x${' '.repeat(49_990)}#a\nfoo\n`;
    expect(fastestMs(() => findHeadings(text), BOUND_MS)).toBeLessThan(BOUND_MS);
    expect(findHeadings(text)).toEqual([{ offset: 0, level: 1, title: 'x #a', end: text.indexOf('\n') }]);
    // Runs of spaces before a closing sequence; a lone `\r` inside the line opens no heading, as before.
    expect(titles(`## Title${' '.repeat(N)}##${' '.repeat(N)}\n`)).toEqual([[2, 'Title']]);
    expect(titles('# x \rx\n# After')).toEqual([[1, 'After']]);
  });

  test('ATX headings still follow CommonMark: closing sequences, the space after the opening run, empty headings', () => {
    expect(titles('# foo ##')).toEqual([[1, 'foo']]);
    expect(titles('#\tfoo\t#\t')).toEqual([[1, 'foo']]);
    expect(titles('## C#')).toEqual([[2, 'C#']]);
    expect(titles('# foo # bar')).toEqual([[1, 'foo # bar']]);
    expect(titles('# foo \\#')).toEqual([[1, 'foo #']]);
    expect(titles('# ## ###')).toEqual([[1, '##']]);
    expect(titles('#5 bolt\n\n####### seven\n\n### ###\n\n#\n\n  ###   Indented   ###  ')).toEqual([[3, 'Indented']]);
  });
});
