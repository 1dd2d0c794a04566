import type { Identity } from '@quire/contracts';
import type { Queryable } from '@quire/db';
import { documentHiddenSql, drewOnHiddenSql } from '../queries/query-repository.js';
import type { Relevant } from './eval-schemas.js';

/**
 * What a reader of the team may see of evaluation data drawn from group-restricted documents.
 *
 * A run searches with its creator's groups, so its per-case results can carry text and ids of
 * documents other readers of the team may not read. They follow the stored-query rule
 * (`findQuery`): the key that ran it reads everything; another key reads a result whole only when
 * none of the documents it drew on is hidden from it. Otherwise the text and ids are redacted while
 * the metrics stay: aggregate quality numbers are what a benchmark is for, and a number carries no
 * document text or id. Eval cases' judgments name documents too, so a judgment naming a document
 * hidden from the reader is withheld and counted (its existence is what ingestion's lists hide).
 */

/** Who reads: the key (a run's own key reads it whole) and its groups. */
export type Reader = Pick<Identity, 'key_id' | 'groups'>;

/** Items of the jsonb `x` when it is an array, else none (results of errored cases hold no details). */
const arrayOf = (x: string) => `(CASE WHEN jsonb_typeof(${x}) = 'array' THEN ${x} ELSE '[]'::jsonb END)`;

/**
 * SQL: the benchmark result `r` (a `benchmark_results` row) drew on a document hidden from `groups`.
 * What it drew on is what its stored query `q` (LEFT JOINed on `r.query_id`) drew on, and, should
 * that row be missing, the result's own ranked items and citations: the stored-query rule, applied
 * to the union.
 */
export function resultDrewOnHiddenSql(r: string, q: string, groups: string): string {
  const drawn = `(SELECT ${arrayOf(`${q}.results`)} || ${r}.ranked AS results,
    ${arrayOf(`${q}.citations`)} || ${arrayOf(`${r}.details -> 'citations'`)} AS citations,
    COALESCE(${q}.trace, '{}'::jsonb) AS trace)`;
  return `EXISTS (SELECT 1 FROM ${drawn} drawn WHERE ${drewOnHiddenSql('drawn', groups)})`;
}

/** True when `reader` is the key a run acted as: it saw all of it when it ran (as a stored query's own key does). */
export const ranIt = (reader: Reader, runner: Pick<Identity, 'key_id'>) => reader.key_id === runner.key_id;

export const REDACTED_REASON = 'drew on a document your key may not read (access groups); metrics stay visible';

/**
 * The document and chunk ids among `relevant` judgments that name a document hidden from `groups`.
 * A document deleted since is not counted as hidden: its id is all there is, and the run's
 * `stale_cases` lists it anyway so the set can be fixed.
 */
export async function hiddenJudgedIds(db: Queryable, relevant: readonly Relevant[], groups: readonly string[]): Promise<Set<string>> {
  const documents = [...new Set(relevant.flatMap((x) => (x.document_id ? [x.document_id] : [])))];
  const chunks = [...new Set(relevant.flatMap((x) => (x.chunk_id ? [x.chunk_id] : [])))];
  if (documents.length === 0 && chunks.length === 0) return new Set();
  const r = await db.query<{ id: string }>(
    `SELECT d.id::text AS id FROM documents d WHERE d.id = ANY($1::uuid[]) AND ${documentHiddenSql('d', '$3')}
UNION ALL
SELECT c.id::text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY($2::uuid[]) AND ${documentHiddenSql('d', '$3')}`,
    [documents, chunks, groups],
  );
  return new Set(r.rows.map((x) => x.id));
}

export interface JudgmentsView {
  relevant: Relevant[];
  /** Judgments left out because they name a document hidden from the reader. */
  withheld_relevant: number;
}

/** `relevant` without the judgments naming a hidden document (by document or by chunk), and their count. */
export function withoutHidden(relevant: readonly Relevant[], hidden: ReadonlySet<string>): JudgmentsView {
  const shown = relevant.filter((x) => !(x.document_id && hidden.has(x.document_id)) && !(x.chunk_id && hidden.has(x.chunk_id)));
  return { relevant: shown, withheld_relevant: relevant.length - shown.length };
}

interface CaseFields {
  relevant: Relevant[];
  reference_answer: string | null;
}

/**
 * A case as `hidden` lets its reader see it. A reference answer states what the judged documents
 * say (a generated one restates the passage, see `generateSyntheticCases`), so a case with a
 * withheld judgment withholds it too. The question stays: it is the case, and its author wrote it
 * for the whole team that reads the set.
 */
export function caseForReader<T extends CaseFields>(c: T, hidden: ReadonlySet<string>): Omit<T, keyof CaseFields> & CaseFields & JudgmentsView & { reference_answer_withheld: boolean } {
  const judgments = withoutHidden(c.relevant, hidden);
  const withhold = judgments.withheld_relevant > 0 && c.reference_answer !== null;
  return { ...c, ...judgments, reference_answer: withhold ? null : c.reference_answer, reference_answer_withheld: withhold };
}

/** Cases as `reader` may see them (one query for the page). */
export async function casesForReader<T extends CaseFields>(db: Queryable, cases: readonly T[], reader: Pick<Identity, 'groups'>) {
  const hidden = await hiddenJudgedIds(db, cases.flatMap((c) => c.relevant), reader.groups);
  return cases.map((c) => caseForReader(c, hidden));
}
