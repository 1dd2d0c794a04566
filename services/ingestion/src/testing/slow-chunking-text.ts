/**
 * About 1 MB of sentences with few paragraph breaks: with the `tokens` strategy (cl100k counts of
 * every split) chunking it takes several seconds on one thread (about 10 s on a 2-CPU machine),
 * while parsing it as text/plain takes milliseconds. For tests of the chunking deadline.
 */
export function slowChunkingText(chars = 1_000_000): string {
  const words = ['alpha', 'quarterly', 'report', 'widget', 'caveat', 'figure', 'Zürich', 'naïve', 'ledger', 'Q3'];
  const lines: string[] = [];
  for (let i = 0, n = 0; n < chars; i++) {
    const line = Array.from({ length: 12 }, (_, k) => words[(i * 7 + k * 3) % words.length]! + ((i + k) % 13)).join(' ') + '.';
    lines.push(line);
    n += line.length + 1;
  }
  return lines.join('\n');
}
