import { seededRandom, type BeirDoc, type BeirQuery } from '@quire/eval';

const SYLLABLES = ['ka', 'lo', 'mi', 'ran', 'tes', 'vu', 'zor', 'pel', 'qui', 'dan', 'bre', 'sol', 'nix', 'fal', 'gor', 'hem'];

/**
 * A small BEIR-style set, generated and seeded: every document has its own topic words plus shared
 * filler; each query repeats some of its document's words (grade 2) and of a neighbour (grade 1),
 * with noise words, so keyword and vector search differ but both find something.
 */
export function generateBeirSet(options: { docs?: number; queries?: number; seed?: number } = {}) {
  const rand = seededRandom(options.seed ?? 11);
  const word = () => Array.from({ length: 3 }, () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)]).join('');
  const docsN = options.docs ?? 30;
  const topics = Array.from({ length: docsN }, () => Array.from({ length: 6 }, word));
  const filler = Array.from({ length: 20 }, word);
  const pick = <T>(xs: T[], n: number) => Array.from({ length: n }, () => xs[Math.floor(rand() * xs.length)]!);
  const corpus: BeirDoc[] = topics.map((t, i) => ({
    _id: String(1000 + i),
    title: `Report ${t[0]} ${t[1]}`,
    text: `${[...t, ...pick(filler, 12), ...t.slice(2)].sort(() => rand() - 0.5).join(' ')}. Details on ${t[3]} and ${t[4]} follow.`,
  }));
  const queries: BeirQuery[] = [];
  const qrels = new Map<string, Map<string, number>>();
  for (let q = 0; q < (options.queries ?? 12); q++) {
    const target = (q * 7) % docsN;
    const neighbour = (target + 1) % docsN;
    const id = `q${q}`;
    queries.push({ _id: id, text: `what about ${pick(topics[target]!, 2).join(' ')} ${topics[neighbour]![0]} ${pick(filler, 2).join(' ')} ${q % 3 === 0 ? word() : ''}`.trim() });
    qrels.set(id, new Map([[corpus[target]!._id, 2], [corpus[neighbour]!._id, 1]]));
  }
  return { corpus, queries, qrels };
}
