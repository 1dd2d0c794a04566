import { SafeMarkdownStream, sanitizeAnswer, urlsIn } from './output-safety.js';

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
