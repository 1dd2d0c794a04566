/**
 * Generated text PDFs for the ingestion benchmark. Words follow a Zipfian law over a 20,000-word
 * vocabulary with English function words at the top ranks (as `bench/retrieval` does), plus a few
 * dozen topic words per document, so BM25 postings, the tsvector and the fake embedder see about as
 * many distinct terms per chunk as real prose gives (a 16-word vocabulary, as before, gave a third).
 */
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { rng } from '../retrieval/synthetic-corpus.js';

const FUNCTION_WORDS = 'the of and to a in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will more can its who said also into what some'.split(' ');
const SYLLABLES = 'ka ri to mel an sor vi dun pa lek tro fen ga mi os ul bre cha dor en fi gol har is jun kel lor mar nev ol pim quo ras sel tam ur ver wil xan yor zel'.split(' ');
const VOCABULARY = 20_000;
const LINES_PER_PAGE = 36;
const WORDS_PER_LINE = 12;

function vocabulary(r: () => number): string[] {
  const words = [...FUNCTION_WORDS];
  const seen = new Set(words);
  while (words.length < VOCABULARY) {
    let w = '';
    for (let i = 2 + Math.floor(r() * 3); i > 0; i--) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)];
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  return words;
}

function zipf(size: number, s: number, r: () => number): () => number {
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

/** `docs` PDFs of `pages` pages, deterministic for a seed. */
export async function makeCorpus(docs: number, pages: number, seed = 5): Promise<Uint8Array[]> {
  const r = rng(seed);
  const words = vocabulary(r);
  const word = zipf(words.length, 1.07, r);
  const out: Uint8Array[] = [];
  for (let d = 0; d < docs; d++) {
    const topic = Array.from({ length: 40 }, () => 150 + Math.floor(r() * (words.length - 150)));
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (let p = 0; p < pages; p++) {
      const page = doc.addPage([612, 792]);
      for (let l = 0; l < LINES_PER_PAGE; l++) {
        const line = Array.from({ length: WORDS_PER_LINE }, () => words[r() < 0.2 ? topic[Math.floor(r() * topic.length)]! : word()]!).join(' ');
        page.drawText(`${line}.`, { x: 40, y: 760 - l * 20, size: 9, font });
      }
    }
    out.push(await doc.save());
  }
  return out;
}
