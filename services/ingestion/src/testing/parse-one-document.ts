/**
 * Parses one small text document through the parse pool and prints its chunk count as
 * JSON: run by worker-exec-argv.test.ts in a child started with flags a worker thread refuses.
 */
import { DEFAULT_LIMITS } from '../limits.js';
import { createParsePool } from '../parse/parse-pool.js';

const pool = createParsePool({
  size: 1,
  timeoutMs: 30_000,
  maxHeapMb: DEFAULT_LIMITS.parseHeapMb,
  limits: { maxPages: 10, maxChars: 1e6, maxZipEntries: 10, maxUncompressedBytes: 1e6 },
});
const text = `${'The travel policy covers hotels and trains. '.repeat(4)}\n\n${'Expenses are filed within thirty days. '.repeat(4)}`;
const doc = await pool.parseAndChunk(new TextEncoder().encode(text), 'text/plain', { strategy: 'recursive', chunk_size: 200, chunk_overlap: 0 });
await pool.close();
process.stdout.write(`${JSON.stringify({ chunks: doc.chunks.length, hasText: doc.hasText })}\n`);
