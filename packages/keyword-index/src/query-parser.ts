import { analyze, analyzePrefix, primaryTokens, type AnalyzerName } from './analyzer.js';

export interface PhraseClause {
  terms: string[];
  /** Each term's position relative to the first (stop words keep their gap). */
  offsets: number[];
}

export interface ParsedQuery {
  /** Analysed terms with their query frequency (a repeated term weighs more, as in Anserini). */
  terms: Map<string, number>;
  /** Normalised prefixes of `term*` words, expanded against the collection's terms at search time. */
  prefixes: string[];
  /** Quoted phrases: a chunk must contain each one, in order; their terms also score as terms. */
  phrases: PhraseClause[];
}

const MAX_PHRASE_TERMS = 8;
const MAX_PHRASES = 4;
const MAX_PREFIXES = 4;

/** Parses `words "a phrase" prefix*`; an unclosed quote counts as plain words. */
export function parseQuery(query: string, analyzer: AnalyzerName = 'english'): ParsedQuery {
  const parsed: ParsedQuery = { terms: new Map(), prefixes: [], phrases: [] };
  const addTerms = (text: string) => {
    // With the 1st analyser version's terms as alternatives, so chunks indexed before it still match (analyzer.ts).
    for (const t of analyze(text, analyzer, { query: true })) parsed.terms.set(t.term, (parsed.terms.get(t.term) ?? 0) + 1);
  };
  const phraseRe = /"([^"]*)"/g;
  let rest = '';
  let last = 0;
  for (let m = phraseRe.exec(query); m; m = phraseRe.exec(query)) {
    rest += query.slice(last, m.index) + ' ';
    last = m.index + m[0].length;
    // A phrase is the tokens as written: an accent-folded or older alternative form is never part of it.
    const tokens = primaryTokens(analyze(m[1] ?? '', analyzer)).slice(0, MAX_PHRASE_TERMS);
    addTerms(m[1] ?? '');
    if (tokens.length > 1 && parsed.phrases.length < MAX_PHRASES) {
      const first = tokens[0]!.position;
      parsed.phrases.push({ terms: tokens.map((t) => t.term), offsets: tokens.map((t) => t.position - first) });
    }
  }
  rest += query.slice(last);
  for (const word of rest.split(/\s+/)) {
    if (word.length > 1 && word.endsWith('*') && parsed.prefixes.length < MAX_PREFIXES) {
      const prefix = analyzePrefix(word.slice(0, -1), analyzer);
      if (prefix && prefix.length >= 2) {
        parsed.prefixes.push(prefix);
        continue;
      }
    }
    addTerms(word);
  }
  return parsed;
}

export function isEmptyQuery(q: ParsedQuery): boolean {
  return q.terms.size === 0 && q.prefixes.length === 0 && q.phrases.length === 0;
}
