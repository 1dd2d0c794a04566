/**
 * Generated text PDFs for the ingestion benchmark. Words follow a Zipfian law over a 20,000-word
 * vocabulary with English function words at the top ranks (as `bench/retrieval` does), plus a few
 * dozen topic words per document, so BM25 postings, the tsvector and the fake embedder see about as
 * many distinct terms per chunk as real prose gives (a 16-word vocabulary, as before, gave a third).
 */
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { rng, syntheticVocabulary, zipfSampler } from '../retrieval/synthetic-corpus.js';

const VOCABULARY = 20_000;
const LINES_PER_PAGE = 36;
const WORDS_PER_LINE = 12;

/** The corpus's text, a document at a time: `nextDocument()` draws the document's topic words. */
export function corpusText(seed = 5): { nextDocument(): void; line(): string } {
  const r = rng(seed);
  const words = syntheticVocabulary(VOCABULARY, r);
  const word = zipfSampler(words.length, 1.07, r);
  let topic: number[] = [];
  return {
    nextDocument() {
      topic = Array.from({ length: 40 }, () => 150 + Math.floor(r() * (words.length - 150)));
    },
    line: () => Array.from({ length: WORDS_PER_LINE }, () => words[r() < 0.2 ? topic[Math.floor(r() * topic.length)]! : word()]!).join(' ') + '.',
  };
}

/** `docs` PDFs of `pages` pages, deterministic for a seed. */
export async function makeCorpus(docs: number, pages: number, seed = 5): Promise<Uint8Array[]> {
  const text = corpusText(seed);
  const out: Uint8Array[] = [];
  for (let d = 0; d < docs; d++) {
    text.nextDocument();
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (let p = 0; p < pages; p++) {
      const page = doc.addPage([612, 792]);
      for (let l = 0; l < LINES_PER_PAGE; l++) page.drawText(text.line(), { x: 40, y: 760 - l * 20, size: 9, font });
    }
    out.push(await doc.save());
  }
  return out;
}
