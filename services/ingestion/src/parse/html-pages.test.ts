import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkText } from '../chunk/chunk-text.js';
import { findHeadings } from '../chunk/markdown-headings.js';
import { parseHtml } from './html.js';

// Pages written by rustdoc, mdBook and Sphinx (see testing/web-files/README.md), not by hand.
const dir = join(dirname(fileURLToPath(import.meta.url)), '../testing/web-files');
const page = (name: string) => parseHtml(readFileSync(join(dir, name), 'utf8')).text;
const titles = (text: string) => findHeadings(text).map((h) => `${'#'.repeat(h.level)} ${h.title}`);

describe('HTML parsing of real documentation pages', () => {
  test('rustdoc: highlighted code is a fenced block of plain text, and the § permalink is not part of the heading', () => {
    const text = page('rustdoc-mem-take.html');
    expect(titles(text)).toEqual(['# Function take', '## Examples']);
    expect(text).not.toContain('§');
    expect(text).not.toMatch(/<span|<code|class=/);
    expect(text).toContain(
      '```\nuse std::mem;\n\nlet mut v: Vec<i32> = vec![1, 2];\n\nlet old_v = mem::take(&mut v);\nassert_eq!(vec![1, 2], old_v);\nassert!(v.is_empty());\n```',
    );
    // The `where` clause is a <div> inside the <pre>: on screen it starts its own line.
    expect(text).toContain('pub fn take<T>(dest: &mut T) -> T\nwhere\n    T: Default,');
    // A code comment that mentions backticks gets a longer fence, so it cannot close the block early.
    expect(text).toContain('// error: cannot move out of dereference of `&mut`-pointer');
  });

  test('mdBook: `#` comment lines in a TOML example stay code (once ~20 fake headings), with the language on the fence', async () => {
    const parsed = parseHtml(readFileSync(join(dir, 'cargo-source-replacement.html'), 'utf8'));
    expect(titles(parsed.text)).toEqual([
      '# Source Replacement',
      '## Configuration',
      '## Registry Sources',
      '## Local Registry Sources',
      '## Directory Sources',
      '## Git sources',
    ]);
    expect(parsed.text).toContain('```toml\n# The `source` table is where all keys related to source-replacement\n# are stored.\n[source]\n');
    const chunks = await chunkText(parsed, { strategy: 'markdown', chunk_size: 400, chunk_overlap: 0 });
    const inCode = chunks.find((c) => c.text.includes('replace-with = "my-vendor-source"'))!;
    expect(inCode.headingPath).toEqual(['Source Replacement', 'Configuration']);
  });

  test('mdBook: a list item whose text sits in a <p> keeps its marker on that text; nested items are indented', () => {
    const text = page('cargo-home.html');
    expect(text).not.toMatch(/^ *-\s*$/m);
    expect(text).toContain('- config.toml Cargo’s global configuration file, see the config entry in the reference.\n- credentials.toml');
    expect(text).toContain('- git Git sources are stored here:\n  - git/db When a crate depends on a git repository');
    expect(titles(text).slice(0, 3)).toEqual(['# Cargo Home', '## Files:', '## Directories:']);
  });

  test('Sphinx: ¶ headerlinks are dropped from headings and the sidebar navigation is not content', () => {
    const text = page('python27-idle-help.html');
    expect(text).not.toContain('¶');
    const heads = titles(text);
    expect(heads.slice(0, 4)).toEqual(['# 24.6. IDLE', '## 24.6.1. Menus', '### 24.6.1.1. File menu (Shell and Editor)', '### 24.6.1.2. Edit menu (Shell and Editor)']);
    expect(heads).not.toContain('### Navigation');
    expect(text).toContain('New File\n\nCreate a new file editing window.');
  });
});
