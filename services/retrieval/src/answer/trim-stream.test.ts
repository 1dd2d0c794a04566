import { TrimStream } from './trim-stream.js';

/** The deltas `TrimStream` lets through for `pieces`, joined as a client joins them. */
function streamed(pieces: string[]): string {
  const trim = new TrimStream();
  return pieces.map((p) => trim.push(p)).join('') + trim.flush();
}

describe('a streamed answer, trimmed as the stored one', () => {
  test.each([
    [['\n\nThe warranty lasts ', '36 months [1].', '\n']],
    [['  ', '\n', 'A', ' ', ' ', 'b', ' \n ']],
    [['One.\n\n', 'Two.', '   ']],
    [['\u00a0\ufeffx\u2003']],
    [['', ' ', '']],
    [['no whitespace']],
  ])('%j adds up to the trimmed answer', (pieces) => {
    expect(streamed(pieces)).toBe(pieces.join('').trim());
  });

  test('whitespace inside the answer goes out once more text follows it, not before', () => {
    const trim = new TrimStream();
    expect(trim.push('\n The warranty ')).toBe('The warranty');
    expect(trim.push('\n\n')).toBe('');
    expect(trim.push('lasts')).toBe(' \n\nlasts');
    expect(trim.flush()).toBe('');
  });
});
