import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { GUIDE_MARKDOWN } from '../testing/fixtures.js';
import { tokenLength } from './token-length.js';

const encoder = new Tiktoken(cl100k);
const encodeLength = (text: string) => encoder.encode(text, [], []).length;

describe('tokenLength', () => {
  test("equals js-tiktoken's cl100k count, for prose, Markdown, odd whitespace and non-ASCII text", () => {
    const samples = [
      '',
      ' ',
      '\n\n\n',
      '  \n  indented\r\n\r\n',
      "I'm sure they'LL say it's 12345678 ... !!! ???",
      GUIDE_MARKDOWN,
      'Zürich, São Paulo, naïve façade, Straße, Ελλάδα, résumé',
      '東京のデータは日本語のテキストです。句読点もあります。',
      '🙂🙂🙂 👩‍👩‍👧 family, e\u0301 combining, \u00a0no-break\u3000ideographic space',
      '\ud83d lone surrogate',
      'tab\t\tseparated\tvalues\n| a | b |\n| --- | --- |',
      'https://example.com/a/b?c=1&d=2#frag',
      'x'.repeat(3000),
      'ab'.repeat(1500),
    ];
    for (const text of samples) expect([text.slice(0, 30), tokenLength(text)]).toEqual([text.slice(0, 30), encodeLength(text)]);
  });

  test('equals it on every substring cut at arbitrary places, cached pieces included', () => {
    const text = `${GUIDE_MARKDOWN}\nÜber 東京 🙂 and café.\n\n`.repeat(4);
    for (let start = 0; start < text.length; start += 37) {
      for (const length of [1, 5, 60, 400]) {
        const piece = text.slice(start, start + length);
        expect(tokenLength(piece)).toBe(encodeLength(piece));
      }
    }
  });

  test('counts special-token text as plain text instead of throwing', () => {
    const text = 'before <|endoftext|> after';
    expect(() => encoder.encode(text)).toThrow();
    expect(tokenLength(text)).toBe(encodeLength(text));
  });

  test('a long run with no spaces is counted in n log n time (js-tiktoken takes most of a minute)', () => {
    const dna = Array.from({ length: 20_000 }, (_, i) => 'ACGT'[(i * 7 + (i >> 3)) % 4]).join('');
    const t = performance.now();
    const n = tokenLength(dna);
    expect(performance.now() - t).toBeLessThan(1_000);
    expect(n).toBeGreaterThan(2_000);
    expect(tokenLength(dna.slice(0, 3000))).toBe(encodeLength(dna.slice(0, 3000)));
  });
});
