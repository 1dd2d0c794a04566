import { porterStem } from './porter-stemmer.js';

/** Which analyser a collection's keyword index uses; queries must use the same one. */
export type AnalyzerName = 'english' | 'simple';

export interface Token {
  term: string;
  /** Position in the token stream, counting removed stop words, so phrases keep their gaps. */
  position: number;
  /**
   * Another form of the token before it, at the same position: its accent-folded form, or (in a
   * query) the form the analyser wrote before its 2nd version. Scored as a term, but not counted in
   * a chunk's length and never part of a phrase. Absent on ordinary tokens.
   */
  alt?: true;
}

/**
 * What the analyser emits, 2nd version (the 1st had none of the points below):
 * - a word is split where the script changes between a spaced script (Latin, digits, Cyrillic...)
 *   and one written without spaces (Han with Kana, Thai, Lao, Khmer, Myanmar): `使用VPN连接` is
 *   使用, vpn, 连接 (the 1st bigrammed it all: 用v, vp, pn, n连, so `VPN` found nothing); likewise
 *   between Latin and Hangul, whose runs stay whole words (`VPN을` is vpn, 을);
 * - a run without spaces is bigrammed whatever its length (the 1st dropped a word over
 *   MAX_TERM_LENGTH, so a long unpunctuated Chinese sentence was not indexed at all);
 * - a French or Italian elided article goes (`l'ordinateur`, `qu'il`, `dell'anno` -> ordinateur, il, anno);
 * - a Latin word with accents also gets its folded form (`télétravail` and `teletravail`, same
 *   position), so a query typed without accents finds it, and one typed with them (both terms)
 *   ranks the chunks that spell it so first.
 *
 * Compatibility. Postings are written once per chunk, so chunks indexed before the 2nd version
 * keep 1st-version terms until their postings are rebuilt: ingestion rebuilds a collection whose
 * `keyword_index_state` records an older version in the background (@quire/index-versions
 * keyword-index-state.ts; a re-chunked index version's activation and re-uploading a document rewrite
 * postings too). Raising this number makes every collection stale. A query meanwhile also carries,
 * as `alt` terms, the 1st version's terms of its words wherever the two differ (the whole elided
 * word, the Latin-and-Hangul word, the bigrams across a script change): terms the 2nd never writes, so they match only
 * old postings and change nothing for new ones. With them, every bag-of-words query still finds what
 * it found before; what an old chunk cannot gain until rebuilt is the new matches (`VPN` inside Han
 * text, an unaccented query, `ordinateur` for `l'ordinateur`, a long run), and a quoted phrase over an
 * elided or mixed-script word (phrases use the 2nd version's terms). English text without accents
 * or elided articles is analysed exactly as before.
 */
export const ANALYZER_VERSION = 2;

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
// Scripts written without spaces, indexed as overlapping character bigrams; a run changes where
// the class changes. Han and Kana are one class (Japanese mixes them within a word). Script
// extensions, so the prolonged sound mark ー (Common) stays with its Katakana. Hangul is written
// with spaces: its runs stay whole words, as before, but are cut from Latin (`VPN을` is vpn, 을).
const NO_SPACE_CLASSES = [
  /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]/u,
  /\p{scx=Thai}/u,
  /\p{scx=Lao}/u,
  /\p{scx=Khmer}/u,
  /\p{scx=Myanmar}/u,
];
const SPACED = 0;
const HANGUL = -1;
const HANGUL_CHAR = /\p{scx=Hangul}/u;
/** Bigrammed: the classes of scripts written without spaces (SPACED and HANGUL are words). */
const isNoSpace = (cls: number) => cls > 0;
const MARK = /\p{M}/u;
const SEPARATOR = /['’.]/;
const MAX_TERM_LENGTH = 64;
const NON_ASCII = /[\u0080-\uffff]/;
/** A word that may need more than a plain term: non-ASCII (scripts, accents) or with an apostrophe (elision). */
const SLOW_PATH = /[\u0080-\uffff']/;

function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** The script class of one character: SPACED, HANGUL, or 1 + its index in NO_SPACE_CLASSES. */
function classOf(ch: string): number {
  for (let i = 0; i < NO_SPACE_CLASSES.length; i++) if (NO_SPACE_CLASSES[i]!.test(ch)) return i + 1;
  return HANGUL_CHAR.test(ch) ? HANGUL : SPACED;
}

interface Run {
  text: string;
  cls: number;
}

/**
 * A word cut where its script class changes. A combining mark stays with the character before it;
 * an apostrophe or dot only inside a run of words (`don't`, `3.5`), else it is a boundary and goes.
 */
function runsOf(word: string): Run[] {
  // ASCII: one spaced run; WORD keeps a separator only between letters or digits.
  if (!NON_ASCII.test(word)) return [{ text: word, cls: SPACED }];
  const chars = [...word];
  const runs: Run[] = [];
  let current: Run | undefined;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (SEPARATOR.test(ch)) {
      const next = chars[i + 1];
      if (current && !isNoSpace(current.cls) && next !== undefined && classOf(next) === current.cls) current.text += ch;
      else current = undefined;
      continue;
    }
    const cls = current && MARK.test(ch) && classOf(ch) === SPACED ? current.cls : classOf(ch);
    if (current && current.cls === cls) current.text += ch;
    else runs.push((current = { text: ch, cls }));
  }
  return runs;
}

// French (l', d', j', m', n', s', t', c', qu', jusqu'...) and Italian (dell', all', un', quest'...) elided words.
const ELISION = /^(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu|presqu|quelqu|un|all|dall|dell|nell|sull|coll|pell|gl|agl|dagl|degl|negl|sugl|quest|quell)['’](\p{L}{2,}.*)$/u;

// Latin letters that do not decompose into a base and a combining mark.
const FOLD: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', ł: 'l', ħ: 'h', ı: 'i', þ: 'th', ŀ: 'l' };
const LATIN = /\p{Script=Latin}/u;

/** Accents off Latin letters (é -> e, ß -> ss); other scripts' marks (Devanagari vowels...) stay. */
function foldAccents(word: string): string {
  if (!NON_ASCII.test(word)) return word;
  let out = '';
  let afterLatin = false;
  for (const ch of word.normalize('NFD')) {
    if (MARK.test(ch)) {
      if (!afterLatin) out += ch;
      continue;
    }
    out += FOLD[ch] ?? ch;
    afterLatin = LATIN.test(ch);
  }
  return out.normalize('NFC');
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

function pushBigrams(run: string, out: Token[], position: number): number {
  const chars = [...run];
  if (chars.length === 1) {
    out.push({ term: chars[0]!, position });
    return position + 1;
  }
  for (let i = 0; i + 1 < chars.length; i++) out.push({ term: chars[i]! + chars[i + 1]!, position: position++ });
  return position;
}

/** One spaced word's term as the analyser normalises it (stemmed, or dropped as a stop word, for English). */
function termOf(word: string, analyzer: AnalyzerName): string | undefined {
  return analyzer === 'english' ? englishTerm(word) : word;
}

export interface AnalyzeOptions {
  /** Analysing a query: also emit, as `alt` tokens, the 1st version's terms where they differ (see ANALYZER_VERSION). */
  query?: boolean;
}

/** The 1st version's terms of a word that the 2nd analyses otherwise, and that the 2nd never writes. */
function legacyTerms(word: string, runs: Run[], analyzer: AnalyzerName): string[] {
  if (word.length > MAX_TERM_LENGTH) return []; // the 1st version dropped it
  if (runs.length > 1 || (runs.length === 1 && runs[0]!.text !== word)) {
    if (!runs.some((r) => isNoSpace(r.cls))) {
      // Latin and Hangul in one word: the 1st version kept it whole.
      const term = termOf(word, analyzer);
      return term ? [term] : [];
    }
    // It bigrammed the whole word; its bigrams across a class change are the ones the 2nd never writes.
    const chars = [...word];
    const out: string[] = [];
    for (let i = 0; i + 1 < chars.length; i++) if (classOf(chars[i]!) !== classOf(chars[i + 1]!) && !MARK.test(chars[i + 1]!)) out.push(chars[i]! + chars[i + 1]!);
    return out;
  }
  if (runs.length === 1 && runs[0]!.cls === SPACED && ELISION.test(word)) {
    const term = termOf(word, analyzer);
    return term ? [term] : [];
  }
  return [];
}

/**
 * Splits text into index terms with positions. The same function serves documents and queries
 * (a query adds the 1st version's terms as `alt` tokens: see ANALYZER_VERSION).
 */
export function analyze(text: string, analyzer: AnalyzerName = 'english', options: AnalyzeOptions = {}): Token[] {
  const out: Token[] = [];
  let position = 0;
  for (const word of words(text)) {
    // Most words: ASCII without an apostrophe, so one spaced run with nothing to fold or split.
    if (word.length <= MAX_TERM_LENGTH && !SLOW_PATH.test(word)) {
      const term = termOf(word, analyzer);
      if (term) out.push({ term, position });
      position++;
      continue;
    }
    const runs = runsOf(word);
    const first = position;
    for (const run of runs) {
      if (isNoSpace(run.cls)) {
        // No length cap: the bigrams are short whatever the run's length.
        position = pushBigrams(run.text, out, position);
        continue;
      }
      if (run.text.length > MAX_TERM_LENGTH) {
        position++;
        continue;
      }
      const elided = ELISION.exec(run.text)?.[1] ?? run.text;
      const term = termOf(elided, analyzer);
      if (term) {
        out.push({ term, position });
        const folded = foldAccents(elided);
        const alt = folded === elided ? undefined : termOf(folded, analyzer);
        if (alt && alt !== term) out.push({ term: alt, position, alt: true });
      }
      position++;
    }
    if (options.query) for (const term of legacyTerms(word, runs, analyzer)) out.push({ term, position: first, alt: true });
  }
  return out;
}

/** Tokens that count in a chunk's length and make up phrases: those that are not another form of a token. */
export function primaryTokens(tokens: Token[]): Token[] {
  return tokens.filter((t) => !t.alt);
}

/** A prefix (`term*`) is normalised like a term but never dropped as a stop word. */
export function analyzePrefix(prefix: string, analyzer: AnalyzerName = 'english'): string | undefined {
  const word = words(prefix)[0];
  if (!word) return undefined;
  return analyzer === 'english' ? porterStem(word.replace(/['’]s$/, '')) : word;
}
