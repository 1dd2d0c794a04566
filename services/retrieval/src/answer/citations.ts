import type { Citation } from '@quire/contracts';
import { analyze } from '@quire/keyword-index';
import type { RetrievedChunk } from '../search/search-pipeline.js';
import { chunkReading } from '@quire/contracts';

// `[1]`, `[1, 3]`, with the spaces or tabs before it (removed with an invalid marker).
const MARKER = /[ \t]*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;

/**
 * The longest list between brackets that counts as a marker. The stream filter must hold a possible
 * marker back until it closes, and this bounds what it holds; a longer list is plain text on both
 * paths, so streamed and non-streamed answers still agree.
 */
export const MAX_MARKER_LIST = 200;

const isMarker = (list: string) => list.length <= MAX_MARKER_LIST;

/**
 * Keeps only the source numbers that exist (1..sourceCount) in each marker; a marker left empty
 * disappears together with the blank before it.
 */
export function rewriteMarkers(text: string, sourceCount: number): string {
  return text.replace(MARKER, (whole, list: string) => {
    if (!isMarker(list)) return whole;
    const valid = list
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => n >= 1 && n <= sourceCount);
    if (valid.length === 0) return '';
    const lead = whole.slice(0, whole.indexOf('['));
    return `${lead}[${[...new Set(valid)].join(', ')}]`;
  });
}

// A tail that may still become a marker once more text arrives: blanks, `[`, digits, commas.
const OPEN_TAIL = new RegExp(`[ \\t]*(?:\\[[\\d,\\s]{0,${MAX_MARKER_LIST}})?$`);

/**
 * Rewrites markers in a stream of deltas. A marker can span many deltas (`[1, 2, 3, 1` then `0]`),
 * so the tail that might still become one is held back until it closes or grows past
 * MAX_MARKER_LIST, when it is released as the plain text `rewriteMarkers` also leaves it as.
 */
export class CitationStreamFilter {
  private pending = '';
  constructor(private readonly sourceCount: number) {}

  push(delta: string): string {
    this.pending += delta;
    const tail = OPEN_TAIL.exec(this.pending);
    const cut = tail ? tail.index : this.pending.length;
    const ready = this.pending.slice(0, cut);
    this.pending = this.pending.slice(cut);
    return rewriteMarkers(ready, this.sourceCount);
  }

  flush(): string {
    const rest = rewriteMarkers(this.pending, this.sourceCount);
    this.pending = '';
    return rest;
  }
}

const STOP = new Set(['the', 'and', 'for', 'with', 'that', 'this', 'from', 'are', 'was', 'were', 'has', 'have', 'not', 'but', 'its', 'into', 'than', 'then', 'they', 'their', 'which', 'what', 'when', 'where', 'who', 'how', 'can', 'will', 'all', 'any', 'our', 'you', 'your']);

// Scripts written without spaces: a run of them is a whole sentence, so its words are counted as character pairs.
const NO_SPACE = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

function words(text: string): Set<string> {
  const out = new Set<string>();
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (NO_SPACE.test(w)) {
      const chars = [...w];
      for (let i = 0; i + 1 < chars.length; i++) out.add(chars[i]! + chars[i + 1]!);
    } else if (w.length > 2 && !STOP.has(w)) out.add(w);
  }
  return out;
}

/**
 * Sentence ends: `.!?`, and the ideographic and full-width ones Chinese and Japanese text uses
 * (。！？ and the half-width ｡), where no blank follows. The full-width semicolon ends a clause that
 * is often a whole statement in Chinese lists, so it counts too. Devanagari's danda likewise.
 */
const ENDS = '.!?。！？｡；।';
const SENTENCE = new RegExp(`[^${ENDS}\\n]+[${ENDS}]*`, 'g');
/** Where an answer splits into sentences: after `.!?` and a blank, after a full-width end with or without one, at line breaks. */
const ANSWER_SPLIT = /(?<=[.!?])\s+|(?<=[。！？｡；।])\s*|\n+/;

/** The sentences of `text` (table rows and lines count as sentences), with where each starts and ends. */
function sentenceSpans(text: string): { text: string; start: number; end: number }[] {
  const out: { text: string; start: number; end: number }[] = [];
  for (const m of text.matchAll(SENTENCE)) {
    const lead = m[0].length - m[0].trimStart().length;
    const body = m[0].trim();
    if (body.length > 0) out.push({ text: body, start: m.index + lead, end: m.index + lead + body.length });
  }
  return out;
}

export const QUOTE_MAX = 240;

/** Stemmed content terms, numbers counted twice: a row that holds the figures cited beats the header that names its columns. */
function quoteTerms(text: string): Map<string, number> {
  const terms = new Map<string, number>();
  for (const t of analyze(text)) if (t.term.length > 1 || /\d/.test(t.term)) terms.set(t.term, /\d/.test(t.term) ? 2 : 1);
  return terms;
}

/**
 * The chunk sentence that best matches the citing sentences (stemmed, so "refreshed" finds
 * "refresh"), cut to QUOTE_MAX characters, and where it sits in the chunk's text.
 */
export function pickQuoteSpan(chunkText: string, citing: string): { quote: string; start: number; end: number } {
  const want = quoteTerms(citing);
  let best: { text: string; start: number; end: number } | undefined;
  let bestScore = -1;
  for (const s of sentenceSpans(chunkText)) {
    let score = 0;
    for (const [term] of quoteTerms(s.text)) score += want.get(term) ?? 0;
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  if (!best) {
    const trimmed = chunkText.trim();
    const start = chunkText.indexOf(trimmed);
    best = { text: trimmed, start: Math.max(0, start), end: Math.max(0, start) + trimmed.length };
  }
  if (best.text.length <= QUOTE_MAX) return { quote: best.text, start: best.start, end: best.end };
  const kept = best.text.slice(0, QUOTE_MAX - 1).trimEnd();
  return { quote: `${kept}…`, start: best.start, end: best.start + kept.length };
}

/** The chunk sentence sharing the most terms with the citing sentences, cut to QUOTE_MAX characters. */
export function pickQuote(chunkText: string, citing: string): string {
  return pickQuoteSpan(chunkText, citing).quote;
}

/**
 * The headings in force at `offset` inside one retrieved chunk's text, read from the section marks
 * stored with the chunk: its own path, or that of the last section it entered before `offset`.
 * (Not ingestion's `headingPathAt`, which walks a whole document's headings by document offset.)
 */
export function sectionPathAtChunkOffset(chunk: Pick<RetrievedChunk, 'headingPath' | 'sections'>, offset: number): string[] {
  let path = chunk.headingPath;
  for (const mark of chunk.sections ?? []) {
    if (mark.at > offset) break;
    if (Array.isArray(mark.heading_path)) path = mark.heading_path;
  }
  return path;
}

/** Figures as written, thousands separators dropped ("9,999" and "9999" are one figure). */
function figures(text: string): Set<string> {
  return new Set((text.match(/\d+(?:[.,]\d+)*/g) ?? []).map((n) => n.replace(/,(?=\d{3}(?:\D|$))/g, '')));
}

/**
 * Whether every figure the citing sentence states is in one of the sources it cites. Term overlap
 * alone passes "40 days of sick leave" against a chunk that says 10: the words match, the number
 * is what is wrong.
 */
export function figuresSupported(citing: string, readings: readonly string[]): boolean {
  const said = figures(citing.replace(MARKER, ''));
  if (said.size === 0) return true;
  const found = new Set<string>();
  for (const reading of readings) for (const f of figures(reading)) found.add(f);
  for (const f of said) if (!found.has(f)) return false;
  return true;
}

/**
 * How much of what the answer says next to a citation is in the cited chunk: the share of the citing
 * sentences' stemmed content terms that occur in the chunk. Lexical, so a paraphrase scores lower
 * than a quote, which is why the threshold is modest.
 */
export function supportScore(citing: string, chunkText: string): number {
  const said = new Set(analyze(citing.replace(MARKER, '')).map((t) => t.term).filter((t) => t.length > 1));
  if (said.size === 0) return 1;
  const source = new Set(analyze(chunkText).map((t) => t.term));
  let hits = 0;
  for (const t of said) if (source.has(t)) hits += 1;
  return hits / said.size;
}

/** Below this share a citation is flagged `supported: false` (kept, so readers see the claim was checked). */
export const SUPPORT_THRESHOLD = 0.3;

/**
 * The citations of a (rewritten) answer, in order of first mention. Each maps source n to the
 * chunk in the prompt; its quote favours the sentence the answer cites it from.
 */
export function extractCitations(answer: string, sources: RetrievedChunk[]): Citation[] {
  // Per source: each sentence citing it, with every source that sentence cites (its figures may come from any of them).
  const citing = new Map<number, { said: string; cited: number[] }[]>();
  let previous = '';
  for (const sentence of answer.split(ANSWER_SPLIT)) {
    let said = sentence.replace(MARKER, '');
    // A marker standing after the full stop (`... capital. [1]`) cites the sentence before it.
    if (words(said).size < 2) said = `${previous} ${said}`;
    const cited: number[] = [];
    for (const match of sentence.matchAll(MARKER)) {
      if (!isMarker(match[1]!)) continue;
      for (const part of match[1]!.split(',')) {
        const n = Number(part.trim());
        if (n >= 1 && n <= sources.length && !cited.includes(n)) cited.push(n);
      }
    }
    for (const n of cited) {
      const list = citing.get(n) ?? [];
      list.push({ said, cited });
      citing.set(n, list);
    }
    previous = said;
  }
  return [...citing.entries()].map(([n, uses]) => {
    const chunk = sources[n - 1]!;
    const quote = pickQuoteSpan(chunk.text, uses.map((u) => u.said).join(' '));
    return {
      index: n,
      chunk_id: chunk.chunkId,
      document_id: chunk.documentId,
      document_title: chunk.documentTitle,
      page: chunk.pageStart,
      page_end: chunk.pageEnd,
      // The section of the quoted sentence: a chunk often runs across a heading.
      heading_path: sectionPathAtChunkOffset(chunk, quote.start),
      char_start: chunk.charStart,
      char_end: chunk.charEnd,
      quote: quote.quote,
      quote_start: chunk.charStart + quote.start,
      quote_end: chunk.charStart + quote.end,
      // Every citing sentence must be supported; one unsupported use flags the citation.
      // Against the context too: a sentence about a table's rows names their columns, which only the header holds.
      supported: uses.every(
        (u) => supportScore(u.said, chunkReading(chunk)) >= SUPPORT_THRESHOLD && figuresSupported(u.said, u.cited.map((i) => chunkReading(sources[i - 1]!))),
      ),
      ...(chunk.collectionId ? { collection_id: chunk.collectionId } : {}),
    };
  });
}
