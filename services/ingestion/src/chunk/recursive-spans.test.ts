import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { GUIDE_MARKDOWN } from '../testing/fixtures.js';
import { fitSpan, splitRecursiveSpans, type Span } from './recursive-spans.js';
import { tokenLength } from './token-length.js';

/** Paragraphs, hard-wrapped lines and a few words longer than a chunk, deterministic. */
function mixedText(paragraphs: number): string {
  const words = ['quarterly', 'report', 'the', 'of', 'ledger', 'widget', 'a', 'caveat', 'figure', 'and'];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: paragraphs }, (_, p) => {
    const sentences = Array.from({ length: 1 + Math.floor(next() * 12) }, () => Array.from({ length: 4 + Math.floor(next() * 14) }, () => words[Math.floor(next() * words.length)]).join(' ') + '.');
    if (p % 7 === 3) sentences.push('x'.repeat(150 + p));
    return sentences.join(p % 3 === 0 ? '\n' : ' ');
  }).join('\n\n');
}

const SIZES = [
  [40, 0],
  [100, 20],
  [300, 60],
] as const;

const sliced = (text: string, spans: Span[]) => spans.map((s) => text.slice(s.start, s.end));

describe('splitRecursiveSpans', () => {
  test("gives LangChain's RecursiveCharacterTextSplitter chunks, with their offsets", async () => {
    const measure = (s: string) => s.length;
    for (const text of [GUIDE_MARKDOWN, mixedText(40)]) {
      for (const [chunkSize, chunkOverlap] of SIZES) {
        const langchain = await new RecursiveCharacterTextSplitter({ chunkSize, chunkOverlap, lengthFunction: measure }).splitText(text);
        const spans = splitRecursiveSpans(text, { chunkSize, chunkOverlap, measure });
        expect(sliced(text, spans)).toEqual(langchain.filter((c) => c.trim().length > 0));
        for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThan(spans[i - 1]!.start);
      }
    }
  });

  test("counting tokens: LangChain's chunks where they fit, else a piece moves on to the next chunk", async () => {
    let overByLangchain = 0;
    for (const text of [GUIDE_MARKDOWN, mixedText(40)]) {
      for (const [chunkSize, chunkOverlap] of SIZES) {
        const langchain = (await new RecursiveCharacterTextSplitter({ chunkSize, chunkOverlap, lengthFunction: tokenLength }).splitText(text)).filter((c) => c.trim());
        const spans = splitRecursiveSpans(text, { chunkSize, chunkOverlap, measure: tokenLength });
        const ours = sliced(text, spans);
        const over = langchain.filter((c) => tokenLength(c) > chunkSize).length;
        overByLangchain += over;
        if (over === 0) expect(ours).toEqual(langchain);
        for (const c of ours) expect(tokenLength(c)).toBeLessThanOrEqual(chunkSize);
        for (let i = 1; i < spans.length; i++) {
          expect(spans[i]!.start).toBeGreaterThan(spans[i - 1]!.start);
          expect(spans[i]!.end).toBeGreaterThan(spans[i - 1]!.end);
        }
        // No chunk is a sliver left over from its neighbour.
        expect(ours.length).toBeLessThanOrEqual(langchain.length + over);
      }
    }
    // A chunk is trimmed after its pieces were counted: " caveat" is one token, "caveat" two.
    expect(overByLangchain).toBeGreaterThan(0);
  });

  test('cuts between code points, never inside a surrogate pair', () => {
    const text = '🙂'.repeat(300);
    const spans = splitRecursiveSpans(text, { chunkSize: 16, chunkOverlap: 4, measure: tokenLength });
    expect(spans.length).toBeGreaterThan(10);
    for (const s of spans) {
      expect(s.start % 2).toBe(0);
      expect(s.end % 2).toBe(0);
      expect(tokenLength(text.slice(s.start, s.end))).toBeLessThanOrEqual(16);
    }
  });

  test('a chunk whose whole measures over the size (a measure that does not add up) is cut to fit', () => {
    // Each "ab" pair costs one more than its letters: pieces add up to less than the whole.
    const measure = (s: string) => s.length + (s.match(/ab/g)?.length ?? 0);
    const text = Array.from({ length: 40 }, () => 'a b ab').join(' ');
    const spans = splitRecursiveSpans(text, { chunkSize: 20, chunkOverlap: 0, measure });
    for (const s of spans) expect(measure(text.slice(s.start, s.end))).toBeLessThanOrEqual(20);
    expect(sliced(text, spans).join(' ').replace(/\s+/g, ' ')).toBe(text);
  });

  test('fitSpan prefers to end at a space, and skips the whitespace between pieces', () => {
    const text = 'alpha beta gamma delta epsilon';
    const spans = fitSpan(text, { start: 0, end: text.length }, { chunkSize: 12, chunkOverlap: 0, measure: (s) => s.length });
    expect(sliced(text, spans)).toEqual(['alpha beta', 'gamma delta', 'epsilon']);
  });
});
