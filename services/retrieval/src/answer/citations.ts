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

function words(text: string): Set<string> {
  return new Set((text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 2 && !STOP.has(w)));
}

function sentences(text: string): string[] {
  return (text.match(/[^.!?\n]+[.!?]*/g) ?? []).map((s) => s.trim()).filter((s) => s.length > 0);
}

export const QUOTE_MAX = 240;

/** The chunk sentence sharing the most words with the citing sentences, cut to QUOTE_MAX characters. */
export function pickQuote(chunkText: string, citing: string): string {
  const want = words(citing);
  let best = '';
  let bestScore = -1;
  for (const s of sentences(chunkText)) {
    let score = 0;
    for (const w of words(s)) if (want.has(w)) score += 1;
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  const quote = best || chunkText.trim();
  return quote.length <= QUOTE_MAX ? quote : `${quote.slice(0, QUOTE_MAX - 1).trimEnd()}…`;
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
  const citing = new Map<number, string[]>();
  let previous = '';
  for (const sentence of answer.split(/(?<=[.!?])\s+|\n+/)) {
    let said = sentence.replace(MARKER, '');
    // A marker standing after the full stop (`... capital. [1]`) cites the sentence before it.
    if (words(said).size < 2) said = `${previous} ${said}`;
    for (const match of sentence.matchAll(MARKER)) {
      if (!isMarker(match[1]!)) continue;
      for (const part of match[1]!.split(',')) {
        const n = Number(part.trim());
        if (n < 1 || n > sources.length) continue;
        const list = citing.get(n) ?? [];
        list.push(said);
        citing.set(n, list);
      }
    }
    previous = said;
  }
  return [...citing.entries()].map(([n, said]) => {
    const chunk = sources[n - 1]!;
    return {
      index: n,
      chunk_id: chunk.chunkId,
      document_id: chunk.documentId,
      document_title: chunk.documentTitle,
      page: chunk.pageStart,
      page_end: chunk.pageEnd,
      heading_path: chunk.headingPath,
      char_start: chunk.charStart,
      char_end: chunk.charEnd,
      quote: pickQuote(chunk.text, said.join(' ')),
      // Every citing sentence must be supported; one unsupported use flags the citation.
      // Against the context too: a sentence about a table's rows names their columns, which only the header holds.
      supported: said.every((sentence) => supportScore(sentence, chunkReading(chunk)) >= SUPPORT_THRESHOLD),
      ...(chunk.collectionId ? { collection_id: chunk.collectionId } : {}),
    };
  });
}
