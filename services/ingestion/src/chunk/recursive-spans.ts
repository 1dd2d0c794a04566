/**
 * LangChain's RecursiveCharacterTextSplitter (default separators, separators kept at the start of
 * the following piece, chunks trimmed), reimplemented on offsets so that each piece is measured
 * once and each chunk's place in the text is known rather than searched for. LangChain measures
 * a piece up to three times (when sorting pieces, when adding it to a chunk, when dropping it from
 * the overlap) and leaves the caller to find the chunk again with `indexOf`; with a tokenizer as
 * the measure that is most of the cost of chunking.
 *
 * Differences from LangChain: the last resort splits between code points, not UTF-16 units, so
 * no chunk holds half an emoji; and each chunk is measured whole as it is made: while it is over
 * the size its last piece moves on to the next chunk, and one that cannot shrink so is cut with
 * `fitSpan`. Token counts do not quite add up: a chunk's pieces are counted before it is trimmed,
 * and " caveat" is one token where "caveat" is two, so LangChain's chunks can run a token or two
 * over the size (17 of 2,558 at 256 tokens in bench/ingest/chunk-tokens.ts).
 */
export interface Span {
  start: number;
  end: number;
}

export interface RecursiveSpansOptions {
  chunkSize: number;
  chunkOverlap: number;
  measure: (text: string) => number;
}

const SEPARATORS = ['\n\n', '\n', ' '];

export function splitRecursiveSpans(text: string, options: RecursiveSpansOptions): Span[] {
  const chunks: Span[] = [];
  splitSpan(text, { start: 0, end: text.length }, 0, options, chunks);
  return chunks;
}

/** Pieces of `span` that begin where `separator` occurs (LangChain's lookahead split); '' splits code points. */
function pieces(text: string, span: Span, separator: string): Span[] {
  const out: Span[] = [];
  let start = span.start;
  if (separator === '') {
    for (const end of codePointEnds(text, span.start, span.end)) {
      out.push({ start, end });
      start = end;
    }
    return out;
  }
  for (let at = text.indexOf(separator, span.start + 1); at >= 0 && at + separator.length <= span.end; at = text.indexOf(separator, at + 1)) {
    out.push({ start, end: at });
    start = at;
  }
  out.push({ start, end: span.end });
  return out;
}

function splitSpan(text: string, span: Span, level: number, options: RecursiveSpansOptions, chunks: Span[]): void {
  // The first separator present picks the split; finer ones are for pieces still too big.
  let separator = '';
  let finer: number | null = null;
  for (let i = level; i < SEPARATORS.length; i++) {
    const at = text.indexOf(SEPARATORS[i]!, span.start);
    if (at >= 0 && at + SEPARATORS[i]!.length <= span.end) {
      separator = SEPARATORS[i]!;
      finer = i + 1;
      break;
    }
  }
  const all = pieces(text, span, separator);
  let good: Span[] = [];
  let lengths: number[] = [];
  for (const piece of all) {
    const length = options.measure(text.slice(piece.start, piece.end));
    if (length < options.chunkSize) {
      good.push(piece);
      lengths.push(length);
      continue;
    }
    if (good.length > 0) merge(text, good, lengths, options, chunks);
    good = [];
    lengths = [];
    if (finer === null) pushTrimmed(text, piece, chunks);
    else splitSpan(text, piece, finer, options, chunks);
  }
  if (good.length > 0) merge(text, good, lengths, options, chunks);
}

/**
 * LangChain's mergeSplits: pack consecutive pieces up to the size, then start the next chunk with
 * up to the overlap's worth of the previous chunk's tail. Then, unlike LangChain, the chunk is
 * measured whole: while it is over, its last piece moves on to the next chunk.
 */
function merge(text: string, good: Span[], lengths: number[], options: RecursiveSpansOptions, chunks: Span[]): void {
  const { chunkSize, chunkOverlap, measure } = options;
  const chunk = (from: number, to: number) => trimmed(text, { start: good[from]!.start, end: good[to - 1]!.end });
  const fits = (span: Span | null) => span === null || measure(text.slice(span.start, span.end)) <= chunkSize;
  let first = 0;
  let total = 0;
  let emitted = 0;
  for (let i = 0; ; ) {
    const atEnd = i === good.length;
    if (!atEnd && (total + lengths[i]! <= chunkSize || i === first)) {
      total += lengths[i++]!;
      continue;
    }
    if (first === i) return;
    let end = i;
    let span = chunk(first, end);
    let ok = fits(span);
    // A piece moved on must still leave the chunk ending past the previous one.
    while (!ok && end - 1 > Math.max(first, emitted)) {
      total -= lengths[--end]!;
      span = chunk(first, end);
      ok = fits(span);
    }
    if (span) chunks.push(...(ok ? [span] : fitSpan(text, span, options)));
    emitted = end;
    if (end === good.length) return;
    while (total > chunkOverlap || (total + lengths[end]! > chunkSize && total > 0)) total -= lengths[first++]!;
    i = end;
  }
}

function trimmed(text: string, span: Span): Span | null {
  const raw = text.slice(span.start, span.end);
  const start = span.start + raw.length - raw.trimStart().length;
  const end = span.end - (raw.length - raw.trimEnd().length);
  return end > start ? { start, end } : null;
}

function pushTrimmed(text: string, span: Span, chunks: Span[]): void {
  const t = trimmed(text, span);
  if (t) chunks.push(t);
}

/**
 * A chunk measured over the size that no piece boundary could fix, cut into the longest prefixes
 * that fit (found by bisection over code points), each ending at the last space in its second half
 * if that fits too. Rare (a single piece just under the size, over it once trimmed), so no overlap.
 */
export function fitSpan(text: string, span: Span, options: RecursiveSpansOptions): Span[] {
  const fits = (start: number, end: number) => options.measure(text.slice(start, end).trimEnd()) <= options.chunkSize;
  const out: Span[] = [];
  let start = span.start;
  for (;;) {
    while (start < span.end && /\s/.test(text[start]!)) start++;
    if (start >= span.end) return out;
    const ends = codePointEnds(text, start, span.end);
    // One code point always goes: a few tokens at most, below any allowed size.
    let best = 0;
    for (let lo = 1, hi = ends.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >> 1;
      if (fits(start, ends[mid]!)) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    let end = ends[best]!;
    const space = text.lastIndexOf(' ', end - 1);
    if (end < span.end && space > start + (end - start) / 2 && fits(start, space)) end = space;
    pushTrimmed(text, { start, end }, out);
    start = end;
  }
}

function codePointEnds(text: string, start: number, end: number): number[] {
  const ends: number[] = [];
  for (let i = start; i < end; ) {
    i += (text.charCodeAt(i) & 0xfc00) === 0xd800 && i + 1 < end && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    ends.push(i);
  }
  return ends;
}
