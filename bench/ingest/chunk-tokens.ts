/**
 * node --import tsx bench/ingest/chunk-tokens.ts [--chars 2000000] [--sizes 256:32,1000:150] [--no-old]
 *
 * Chunking with the `tokens` strategy over generated prose and Markdown (prose-markdown.ts):
 * characters per second for chunkText, first in a fresh process (piece cache cold) and again
 * (warm, as in a parse worker that has chunked a few documents), against the approach it replaced
 * (LangChain's RecursiveCharacterTextSplitter measuring with js-tiktoken's `encode`, then each chunk
 * found in the text with `indexOf`), which lives only here. Checks every new chunk against
 * js-tiktoken's count and the text, and says how many chunks the two approaches share.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { chunkText, type ChunkDraft } from '../../services/ingestion/src/chunk/chunk-text.js';
import { proseMarkdown } from './prose-markdown.js';

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    chars: { type: 'string', default: '2000000' },
    sizes: { type: 'string', default: '256:32,1000:150' },
    old: { type: 'boolean', default: true },
  },
});

// The old approach's libraries are the ingestion service's dependencies, not the root's.
const requireIngestion = createRequire(new URL('../../services/ingestion/package.json', import.meta.url));
interface Encoder {
  encode(text: string, allowedSpecial?: string[], disallowedSpecial?: string[]): number[];
}
const { Tiktoken } = requireIngestion('js-tiktoken/lite') as { Tiktoken: new (ranks: unknown) => Encoder };
const encoder = new Tiktoken(requireIngestion('js-tiktoken/ranks/cl100k_base'));
const exactTokens = (text: string) => encoder.encode(text, [], []).length;
const { RecursiveCharacterTextSplitter } = requireIngestion('@langchain/textsplitters') as {
  RecursiveCharacterTextSplitter: new (options: { chunkSize: number; chunkOverlap: number; lengthFunction: (s: string) => number }) => {
    splitText(text: string): Promise<string[]>;
  };
};

/** The replaced path of chunkText for `tokens` (no pages): split, then find each chunk again. */
async function oldTokenChunks(text: string, chunkSize: number, chunkOverlap: number): Promise<{ start: number; text: string }[]> {
  const splitter = new RecursiveCharacterTextSplitter({ chunkSize, chunkOverlap, lengthFunction: (s) => encoder.encode(s).length });
  const out: { start: number; text: string }[] = [];
  let prevStart = -1;
  let prevEnd = 0;
  for (const piece of (await splitter.splitText(text)).filter((p) => p.trim().length > 0)) {
    let at = text.indexOf(piece, Math.max(prevEnd - piece.length - 1, prevStart + 1));
    if (at < 0) at = text.indexOf(piece, prevStart + 1);
    out.push({ start: at, text: piece });
    prevStart = at;
    prevEnd = at + piece.length;
  }
  return out;
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await run();
  return { value, ms: performance.now() - t };
}

const rate = (chars: number, ms: number) => `${Math.round(chars / (ms / 1000)).toLocaleString('en-US')} chars/s`;

const text = proseMarkdown(Number(args.chars));
console.log(`text: ${text.length.toLocaleString('en-US')} chars of generated prose and Markdown`);
for (const [size, overlap] of args.sizes.split(',').map((s) => s.split(':').map(Number) as [number, number])) {
  const chunking = { strategy: 'tokens' as const, chunk_size: size, chunk_overlap: overlap };
  const doc = { text, pages: null, markdown: true };
  const cold = await timed(() => chunkText(doc, chunking));
  const warm = await timed(() => chunkText(doc, chunking));
  const chunks: ChunkDraft[] = warm.value;
  const over = chunks.filter((c) => exactTokens(c.text) > size).length;
  const misplaced = chunks.filter((c) => text.slice(c.charStart, c.charEnd) !== c.text).length;
  console.log(`\ntokens ${size}/${overlap}: ${chunks.length} chunks; over size: ${over}; offsets wrong: ${misplaced}`);
  console.log(`  new, cold cache  ${rate(text.length, cold.ms)} (${cold.ms.toFixed(0)} ms)`);
  console.log(`  new, warm cache  ${rate(text.length, warm.ms)} (${warm.ms.toFixed(0)} ms)`);
  if (!args.old) continue;
  const old = await timed(() => oldTokenChunks(text, size, overlap));
  const oldOver = old.value.filter((c) => exactTokens(c.text) > size).length;
  const fresh = new Set(chunks.map((c) => `${c.charStart}:${c.text}`));
  const shared = old.value.filter((c) => fresh.has(`${c.start}:${c.text}`)).length;
  console.log(`  old              ${rate(text.length, old.ms)} (${old.ms.toFixed(0)} ms); ${old.value.length} chunks, over size: ${oldOver}`);
  console.log(`  speed-up ${(old.ms / cold.ms).toFixed(1)}x cold, ${(old.ms / warm.ms).toFixed(1)}x warm; chunks identical to old (text and offset): ${shared}/${old.value.length}`);
}
