/**
 * A generated collection that behaves like a real one for search: text from a vocabulary with
 * Zipfian frequencies (English function words at the top ranks, so the analyser has real stop
 * words to drop) plus per-topic words, and 384-dimensional unit vectors clustered by topic, so
 * neighbours are as crowded as real embeddings' are. Deterministic for a given seed.
 */
import { seededRandom } from '@quire/eval';

/** @quire/eval's `seededRandom` (mulberry32), under the name bench/ingest imports it by. */
export const rng: (seed: number) => () => number = seededRandom;

const FUNCTION_WORDS = 'the of and to a in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will more can its who said also into what some'.split(' ');
const SYLLABLES = 'ka ri to mel an sor vi dun pa lek tro fen ga mi os ul bre cha dor en fi gol har is jun kel lor mar nev ol pim quo ras sel tam ur ver wil xan yor zel'.split(' ');

export interface Corpus {
  texts: string[];
  vectors: number[][];
  topics: number[];
  centroids: number[][];
  topicWords: number[][];
  vocabulary: string[];
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

export function normalise(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / n);
}

export function zipfSampler(size: number, s: number, r: () => number): () => number {
  const cdf = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  return () => {
    const x = r() * sum;
    let lo = 0;
    let hi = size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export function noisy(v: number[], scale: number, r: () => number): number[] {
  const sigma = scale / Math.sqrt(v.length);
  return normalise(v.map((x) => x + gaussian(r) * sigma));
}

/**
 * English function words at the top ranks, then made-up words of 2 to 4 syllables: a vocabulary whose
 * Zipfian draw gives BM25 about the distinct terms per chunk that real prose gives. Shared with
 * bench/ingest's corpus.
 */
export function syntheticVocabulary(size: number, r: () => number): string[] {
  const vocabulary = [...FUNCTION_WORDS];
  const seen = new Set(vocabulary);
  while (vocabulary.length < size) {
    const n = 2 + Math.floor(r() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)];
    if (!seen.has(w)) {
      seen.add(w);
      vocabulary.push(w);
    }
  }
  return vocabulary;
}

export function generateCorpus(options: { chunks: number; dimensions: number; topics: number; vocabulary: number; seed: number }): Corpus {
  const r = seededRandom(options.seed);
  const vocabulary = syntheticVocabulary(options.vocabulary, r);
  const global = zipfSampler(vocabulary.length, 1.07, r);
  const topicPick = zipfSampler(60, 0.9, r);
  const centroids = Array.from({ length: options.topics }, () => normalise(Array.from({ length: options.dimensions }, () => gaussian(r))));
  const topicWords = Array.from({ length: options.topics }, () => Array.from({ length: 60 }, () => 150 + Math.floor(r() * (vocabulary.length - 150))));
  const texts: string[] = [];
  const vectors: number[][] = [];
  const topics: number[] = [];
  for (let i = 0; i < options.chunks; i++) {
    const topic = Math.floor(r() * options.topics);
    const length = 40 + Math.floor(r() * 120);
    const words: string[] = [];
    for (let j = 0; j < length; j++) {
      const id = r() < 0.25 ? topicWords[topic]![topicPick()]! : global();
      let w = vocabulary[id]!;
      if (j % 14 === 0) w = w[0]!.toUpperCase() + w.slice(1);
      words.push(j % 14 === 13 ? `${w}.` : w);
    }
    texts.push(words.join(' '));
    vectors.push(noisy(centroids[topic]!, 0.9, r));
    topics.push(topic);
  }
  return { texts, vectors, topics, centroids, topicWords, vocabulary };
}

/** A query about one chunk: a few of its content words and a topic word, embedded near the chunk. */
export function makeQuery(corpus: Corpus, chunk: number, r: () => number): { text: string; vector: number[] } {
  const content = corpus.texts[chunk]!.toLowerCase().replace(/\./g, '').split(' ').filter((w) => !FUNCTION_WORDS.includes(w));
  const picked = new Set<string>();
  const want = 2 + Math.floor(r() * 3);
  while (picked.size < want && content.length > 0) picked.add(content[Math.floor(r() * content.length)]!);
  const topicWord = corpus.vocabulary[corpus.topicWords[corpus.topics[chunk]!]![Math.floor(r() * 10)]!]!;
  const text = ['what', ...picked, 'the', topicWord].join(' ');
  return { text, vector: noisy(corpus.vectors[chunk]!, 0.5, r) };
}
