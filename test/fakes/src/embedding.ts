/**
 * The fakes' embedding: a hashed bag of words. Lower-cased letter/digit runs are hashed (FNV-1a,
 * 32-bit) into `dimensions` buckets, counted, and the vector is L2-normalised. Texts that share
 * words have a positive cosine similarity, texts without shared words are (almost always) orthogonal,
 * so a planted sentence is found by a query that repeats its words. Empty text gives a zero vector.
 */
export const DEFAULT_FAKE_DIMENSIONS = 64;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

// A word's hash is remembered: a fake stands for a remote provider, so its own CPU should not weigh
// on the process it runs in (benchmarks run it beside Quire).
const wordHashes = new Map<string, number>();
function hashOf(word: string): number {
  let hash = wordHashes.get(word);
  if (hash === undefined) {
    hash = fnv1a(word);
    if (wordHashes.size < 100_000) wordHashes.set(word, hash);
  }
  return hash;
}

export function fakeEmbedding(text: string, dimensions: number = DEFAULT_FAKE_DIMENSIONS): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const bucket = hashOf(word) % dimensions;
    vector[bucket] = (vector[bucket] ?? 0) + 1;
  }
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  return norm === 0 ? vector : vector.map((v) => v / norm);
}

export function cosineSimilarity(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += (a[i] ?? 0) * (b[i] ?? 0);
    na += (a[i] ?? 0) ** 2;
    nb += (b[i] ?? 0) ** 2;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** OpenAI's base64 format: little-endian float32 bytes. */
export function toBase64Float32(vector: number[]): string {
  const buffer = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => buffer.writeFloatLE(v, i * 4));
  return buffer.toString('base64');
}
