/**
 * Evaluation data follows the documents it drew on, as stored queries do: deleting or replacing a
 * document redacts the answers (and judges' reasons) of the benchmark results that ranked or cited
 * it, and the reference answers of the synthetic cases generated from it.
 */
import { randomUUID } from 'node:crypto';
import { openTestDatabase, type Db } from '@quire/db';
import { redactQueriesOfDocuments } from '@quire/stored-queries';
import { seedCollection, type SeededCollection } from '../testing/seed.js';
import { insertBenchmark, insertResult } from './benchmark-repo.js';
import { addCases, createEvalSet, type NewCase } from './eval-repo.js';

const TEAM = 'team-eval-redaction';
const IDENTITY = { team_id: TEAM, key_id: 'key-bench', role: 'admin' as const, groups: [] };
/** The planted figure as the text says it: a bare '417' also turns up in uuids. */
const PLANTED = /417 euros/;

let db: Db;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

const seed = () =>
  seedCollection(db, {
    teamId: TEAM,
    name: `eval-redaction-${randomUUID()}`,
    embeddingModel: null,
    generationModel: 'fake/gen',
    documents: [
      { title: 'Pay', chunks: [{ text: 'The night shift bonus is 417 euros per month.', page: 1 }] },
      { title: 'Canteen', chunks: [{ text: 'The canteen opens at noon and serves soup.', page: 1 }] },
    ],
  });

async function newRun(coll: SeededCollection, cases: NewCase[]) {
  const setId = await createEvalSet(db, { teamId: TEAM, collectionId: coll.collectionId, name: `set ${randomUUID()}` });
  const caseIds = await db.transaction((tx) => addCases(tx, setId, cases));
  const configurations = [{ name: 'answer', mode: 'keyword' as const, top_k: 5, answer: true, resolved_index_version_id: coll.indexVersionId }];
  const id = await insertBenchmark(db, { teamId: TEAM, evalSetId: setId, collectionId: coll.collectionId, configurations, judgeModel: 'fake/judge', budgetUsd: null, identity: IDENTITY });
  return { id, caseIds };
}

/** A finished case as the runner records it: what it ranked and cited, the answer and the judge's verdict. */
const result = (benchmarkId: string, caseId: string, coll: SeededCollection, documentIndex: number, answer: string, queryId: string | null = null) =>
  insertResult(db, {
    benchmarkId,
    configIndex: 0,
    caseId,
    queryId: queryId as string,
    status: 'ok',
    metrics: { 'ndcg@5': 1, correctness: 0.9 },
    ranked: [{ chunk_id: coll.chunkIds[documentIndex]![0]!, document_id: coll.documentIds[documentIndex]! }],
    timings: { total: 12 },
    answer,
    details: { citations: [{ chunk_id: coll.chunkIds[documentIndex]![0]!, document_id: coll.documentIds[documentIndex]!, supported: true }], judge: { correctness: 0.9, faithfulness: 1, reason: `The answer says ${answer}` } },
    error: null,
  });

async function resultOf(benchmarkId: string, caseId: string) {
  const r = await db.query<{ answer: string | null; details: any; metrics: any; ranked: any; redacted: boolean }>(
    `SELECT answer, details, metrics, ranked, redacted_at IS NOT NULL AS redacted FROM benchmark_results WHERE benchmark_id = $1 AND case_id = $2`,
    [benchmarkId, caseId],
  );
  const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  const row = r.rows[0]!;
  return { ...row, details: json(row.details), metrics: json(row.metrics), ranked: json(row.ranked) };
}
const referenceOf = async (caseId: string) => (await db.query<{ reference_answer: string | null }>(`SELECT reference_answer FROM eval_cases WHERE id = $1`, [caseId])).rows[0]!.reference_answer;

test("deleting a document redacts the answers and judges' reasons of results that drew on it, and the reference answers of synthetic cases made from it", async () => {
  const coll = await seed();
  const [pay, canteen] = coll.documentIds as [string, string];
  const { id, caseIds } = await newRun(coll, [
    { question: 'What is the night shift bonus?', relevant: [{ document_id: pay, grade: 1 }], referenceAnswer: 'It is 417 euros a month.', synthetic: true },
    { question: 'How much is the night bonus?', relevant: [{ document_id: pay, grade: 1 }], referenceAnswer: 'The team agreed on 417 euros.' },
    { question: 'When does the canteen open?', relevant: [{ document_id: canteen, grade: 1 }], referenceAnswer: 'At noon.', synthetic: true },
  ]);
  const [payCase, authoredCase, canteenCase] = caseIds as [string, string, string];
  await result(id, payCase, coll, 0, 'The night shift bonus is 417 euros [1].');
  await result(id, canteenCase, coll, 1, 'The canteen opens at noon [1].');
  expect(await resultOf(id, payCase)).toMatchObject({ answer: 'The night shift bonus is 417 euros [1].', redacted: false });

  await db.transaction(async (tx) => {
    await tx.query(`DELETE FROM documents WHERE id = $1`, [pay]);
    await redactQueriesOfDocuments(tx, [pay]);
  });

  const redacted = await resultOf(id, payCase);
  expect(JSON.stringify(redacted)).not.toMatch(PLANTED);
  // The figures and ids stay: the run's summary does not change, and the case is not run again.
  expect(redacted).toMatchObject({ answer: null, redacted: true, metrics: { 'ndcg@5': 1, correctness: 0.9 }, ranked: [{ document_id: pay }] });
  expect(redacted.details).toEqual({ citations: [{ chunk_id: coll.chunkIds[0]![0], document_id: pay, supported: true }], judge: { correctness: 0.9, faithfulness: 1, reason: null } });
  expect(await resultOf(id, canteenCase)).toMatchObject({ answer: 'The canteen opens at noon [1].', redacted: false, details: { judge: { reason: 'The answer says The canteen opens at noon [1].' } } });
  // The synthetic case restated the deleted passage; a person's case is the set's own content.
  expect(await referenceOf(payCase)).toBeNull();
  expect(await referenceOf(authoredCase)).toBe('The team agreed on 417 euros.');
  expect(await referenceOf(canteenCase)).toBe('At noon.');
});

test('a result recorded after a document it drew on was deleted, or its stored query redacted (a replacement), is recorded redacted', async () => {
  const coll = await seed();
  const [pay, canteen] = coll.documentIds as [string, string];
  const { id, caseIds } = await newRun(coll, [
    { question: 'What is the night shift bonus?', relevant: [{ document_id: pay, grade: 1 }] },
    { question: 'When does the canteen open?', relevant: [{ document_id: canteen, grade: 1 }] },
    { question: 'And the bonus again?', relevant: [{ document_id: pay, grade: 1 }] },
  ]);
  const [replacedCase, untouchedCase, deletedCase] = caseIds as [string, string, string];
  // The case's query was redacted by a replacement of the pay document while the case ran (the id stays).
  const queryId = randomUUID();
  await db.query(
    `INSERT INTO queries (id, team_id, key_id, collection_id, collection_ids, kind, query, status, document_ids, redacted_at)
     VALUES ($1, $2, 'key-bench', $3, ARRAY[$3::uuid], 'answer', 'q', 'ok', ARRAY[$4::uuid], now())`,
    [queryId, TEAM, coll.collectionId, pay],
  );
  await result(id, replacedCase, coll, 0, 'The night shift bonus is 417 euros [1].', queryId);
  await result(id, untouchedCase, coll, 1, 'The canteen opens at noon [1].');
  await db.query(`DELETE FROM documents WHERE id = $1`, [pay]);
  await result(id, deletedCase, coll, 0, 'The night shift bonus is 417 euros [1].');

  for (const caseId of [replacedCase, deletedCase]) {
    const row = await resultOf(id, caseId);
    expect(JSON.stringify(row)).not.toMatch(PLANTED);
    expect(row).toMatchObject({ answer: null, redacted: true, details: { judge: { reason: null } } });
  }
  expect(await resultOf(id, untouchedCase)).toMatchObject({ answer: 'The canteen opens at noon [1].', redacted: false });
  expect((await db.query(`SELECT document_ids FROM benchmark_results WHERE benchmark_id = $1 AND case_id = $2`, [id, untouchedCase])).rows[0]).toEqual({ document_ids: [canteen] });
});
