import { porterStem } from './porter-stemmer.js';

/** Which analyser a collection's keyword index uses; queries must use the same one. */
export type AnalyzerName = 'english' | 'simple';

export interface Token {
  term: string;
  /** Position in the token stream, counting removed stop words, so phrases keep their gaps. */
  position: number;
}

/**
 * Lucene's English stop set (the one Anserini's published BM25 runs use). Deliberately short:
 * BM25's IDF already discounts common words, and a long list hurts phrase and title queries.
 */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not',
  'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was',
  'will', 'with',
]);

// Letters and digits, with inner apostrophes and dots between digits kept (don't, 3.5).
const WORD = /[\p{L}\p{N}\p{M}]+(?:['’][\p{L}]+|\.\p{N}+)*/gu;
// Scripts written without spaces: indexed as overlapping character bigrams.
const NO_SPACE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
const MAX_TERM_LENGTH = 64;

function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

// Words repeat (Zipf): stemming each distinct word once was about a fifth of ingestion's CPU per
// chunk outside the database. Bounded, so an adversarial vocabulary cannot grow it without limit.
const STEM_CACHE_SIZE = 50_000;
const stems = new Map<string, string | null>();

function englishTerm(word: string): string | undefined {
  const known = stems.get(word);
  if (known !== undefined) return known ?? undefined;
  // Possessives go (Lucene's EnglishPossessiveFilter); other inner apostrophes stay part of the word.
  let w = word.replace(/’/g, "'");
  if (w.endsWith("'s")) w = w.slice(0, -2);
  const term = ENGLISH_STOP_WORDS.has(w) ? undefined : porterStem(w);
  if (stems.size >= STEM_CACHE_SIZE) stems.clear();
  stems.set(word, term ?? null);
  return term;
}

function pushBigrams(word: string, out: Token[], position: number): number {
  const chars = [...word];
  if (chars.length === 1) {
    out.push({ term: chars[0]!, position });
    return position + 1;
  }
  for (let i = 0; i + 1 < chars.length; i++) out.push({ term: chars[i]! + chars[i + 1]!, position: position++ });
  return position;
}

/** Splits text into index terms with positions. The same function serves documents and queries. */
export function analyze(text: string, analyzer: AnalyzerName = 'english'): Token[] {
  const out: Token[] = [];
  let position = 0;
  for (const word of words(text)) {
    if (word.length > MAX_TERM_LENGTH) {
      position++;
      continue;
    }
    if (NO_SPACE_SCRIPT.test(word)) {
      position = pushBigrams(word, out, position);
      continue;
    }
    const term = analyzer === 'english' ? englishTerm(word) : word;
    if (term) out.push({ term, position });
    position++;
  }
  return out;
}

/** A prefix (`term*`) is normalised like a term but never dropped as a stop word. */
export function analyzePrefix(prefix: string, analyzer: AnalyzerName = 'english'): string | undefined {
  const word = words(prefix)[0];
  if (!word) return undefined;
  return analyzer === 'english' ? porterStem(word.replace(/['’]s$/, '')) : word;
}
