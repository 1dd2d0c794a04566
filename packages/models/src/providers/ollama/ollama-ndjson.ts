import { byteChunks } from '../../byte-chunks.js';

/**
 * Splits an NDJSON byte stream into lines (`\n` or `\r\n`), skipping blank ones. A last line without
 * its newline is still yielded: Ollama ends the body right after the final object.
 */
export async function* parseNDJSONLines(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of byteChunks(source)) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== '') yield line;
      newline = buffer.indexOf('\n');
    }
  }
  const last = (buffer + decoder.decode()).trim();
  if (last !== '') yield last;
}
