/** BEIR's file formats (corpus.jsonl, queries.jsonl, qrels/*.tsv), parsed from text. */
export interface BeirDoc {
  _id: string;
  title?: string;
  text: string;
  metadata?: Record<string, unknown>;
}
export interface BeirQuery {
  _id: string;
  text: string;
}

function jsonl<T>(text: string): T[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

export const parseBeirCorpus = (text: string): BeirDoc[] => jsonl<BeirDoc>(text);
/** Only `_id` and `text` are kept: BEIR query metadata can give the answer away. */
export const parseBeirQueries = (text: string): BeirQuery[] => jsonl<BeirQuery>(text).map((q) => ({ _id: String(q._id), text: q.text }));

/** `query-id<TAB>corpus-id<TAB>score` lines (a header line is skipped); grade 0 lines are kept as judged-not-relevant. */
export function parseBeirQrels(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const line of text.split('\n')) {
    const [q, d, s] = line.trim().split('\t');
    if (!q || !d || q === 'query-id') continue;
    const grade = Number(s ?? '1');
    if (!Number.isFinite(grade)) continue;
    if (!out.has(q)) out.set(q, new Map());
    out.get(q)!.set(d, grade);
  }
  return out;
}

/** The text Quire indexes for a BEIR document (BEIR's usual "title + ' ' + text"). */
export const beirDocumentText = (d: BeirDoc): string => (d.title ? `${d.title} ${d.text}` : d.text);
