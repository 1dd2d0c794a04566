/**
 * About 8 MB of long random "words" (2,000 letters each, no two alike), a text that is slow to chunk
 * with the `tokens` strategy: every word is new to the token-count cache and goes through a full BPE
 * merge (about 0.9 µs a character, some 7 s on one thread of a 2-CPU machine), while parsing it as
 * text/plain takes milliseconds. For tests of the chunking deadline: the chunking is stopped at the
 * deadline, so the text's length costs the test its generation and upload, not its chunking.
 */
export function slowChunkingText(chars = 8_000_000, wordLength = 2000): string {
  const words: string[] = [];
  let seed = 12_345;
  for (let n = 0; n < chars; n += wordLength + 1) {
    const letters = new Uint8Array(wordLength);
    for (let i = 0; i < wordLength; i++) {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      letters[i] = 97 + ((seed >> 16) % 26);
    }
    words.push(Buffer.from(letters).toString('latin1'));
  }
  return words.join(' ');
}
