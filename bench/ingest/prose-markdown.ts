/**
 * Deterministic prose-and-Markdown text for the chunking benchmarks: headings, paragraphs of
 * varied length (some longer than a chunk, so splitting descends to lines and words), bullet
 * lists, code fences, tables, URLs and numbers, with a little non-ASCII (accents, CJK, emoji).
 */
import { rng, syntheticVocabulary, zipfSampler } from '../retrieval/synthetic-corpus.js';

const COMMON =
  'the of and to a in is that for it as was with be by on not this are or from at which but have an they you were there been one all we their has would when if so no will more can its who also into what some time system data model search index query document user team service request result value number first new other each these only may could about after before between through during without under within where while because however therefore example section table figure note'.split(
    ' ',
  );
const ODD = ['naïve', 'café', 'Zürich', 'façade', 'São Paulo', '東京', 'データ', 'Ωmega', '🙂', 'résumé', 'Straße', 'Ελλάδα'];

/** About `chars` characters of Markdown, the same for a given seed. */
export function proseMarkdown(chars: number, seed = 11): string {
  const r = rng(seed);
  const rare = syntheticVocabulary(4000, r);
  const rareWord = zipfSampler(rare.length, 1.1, r);
  const word = (): string => {
    const x = r();
    if (x < 0.7) return COMMON[Math.floor(r() * COMMON.length)]!;
    if (x < 0.97) return rare[rareWord()]!;
    if (x < 0.985) return String(Math.floor(r() * 100_000));
    return ODD[Math.floor(r() * ODD.length)]!;
  };
  const sentence = (): string => {
    const n = 6 + Math.floor(r() * 18);
    const words = Array.from({ length: n }, word);
    words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
    if (r() < 0.2) words[Math.floor(r() * n)] += ',';
    return words.join(' ') + (r() < 0.1 ? '?' : '.');
  };
  const paragraph = (): string => {
    // Mostly 2-8 sentences; one in twelve is a wall of text several chunks long.
    const n = r() < 1 / 12 ? 40 + Math.floor(r() * 60) : 2 + Math.floor(r() * 7);
    const lines = Array.from({ length: n }, sentence);
    // Some paragraphs are hard-wrapped, one sentence a line.
    return lines.join(r() < 0.25 ? '\n' : ' ');
  };
  const block = (): string => {
    const x = r();
    if (x < 0.08) return `${'#'.repeat(1 + Math.floor(r() * 3))} ${sentence().slice(0, -1)}`;
    if (x < 0.16) return Array.from({ length: 2 + Math.floor(r() * 6) }, () => `- ${sentence()}`).join('\n');
    if (x < 0.2) return ['```ts', `const ${rare[rareWord()]} = await fetch('https://example.com/${rare[rareWord()]}?page=${Math.floor(r() * 99)}');`, `if (!res.ok) throw new Error('status ' + res.status);`, '```'].join('\n');
    if (x < 0.23) return ['| name | value |', '| --- | --- |', ...Array.from({ length: 3 + Math.floor(r() * 5) }, () => `| ${word()} | ${Math.floor(r() * 1e6)} |`)].join('\n');
    return paragraph();
  };
  const out: string[] = [];
  let length = 0;
  while (length < chars) {
    const b = block();
    out.push(b);
    length += b.length + 2;
  }
  return out.join('\n\n').slice(0, chars);
}
