import type { Response, Router } from 'express';
import { z } from 'zod';
import type { GatewayModels } from '@quire/gateway-client';
import { UuidSchema, type Identity } from '@quire/contracts';
import type { Db } from '@quire/db';
import { AppError, ctx, handle, paramsOf, parseWith, exactRouter } from '@quire/server-kit';
import { loadCollection, ownerReach } from '../collections/collection-repository.js';
import { toAppErrorOrInternal } from '../errors.js';
import { addCases, checkRelevantIds, createEvalSet, documentsByBeirId, evalSetNotFound, getEvalSet, pageCases, pageEvalSets, relevantOf, type NewCase } from './eval-repo.js';
import { CreatedCursor, decodeCursor, pageQuery } from './page.js';
import { AddCasesSchema, BeirImportSchema, CreateEvalSetSchema, EvalCaseBodySchema, GenerateSetSchema, type EvalCaseBody } from './eval-schemas.js';
import { casesForReader } from './reader-access.js';
import { generateSyntheticCases } from './synthetic.js';

/**
 * Eval sets and benchmarks spend money and shape decisions: members read, knowledge admins and admins
 * write. They belong to the team that owns their collection; an organisation admin reaches every
 * team's (`ownerReach`), and what it creates on another team's collection belongs to that team.
 */
export function requireWriter(res: Response) {
  const { identity } = ctx(res);
  if (identity.role === 'member') throw new AppError('role_not_allowed', 'Creating eval sets and benchmarks needs a knowledge-admin or admin key.');
  return identity;
}

async function toNewCases(db: Db, collectionId: string, bodies: EvalCaseBody[]): Promise<NewCase[]> {
  const cases = bodies.map((b) => ({ question: b.question, relevant: relevantOf(b), referenceAnswer: b.reference_answer ?? null, externalId: b.external_id ?? null }));
  await checkRelevantIds(db, collectionId, cases.flatMap((c) => c.relevant));
  return cases;
}

/**
 * BEIR queries and qrels as cases. A query whose qrels are all grade 0 has nothing relevant: every
 * configuration scores 0 (nDCG's ideal is 0), so it only dilutes the means; it is skipped and counted.
 */
export function beirCases(body: Pick<z.infer<typeof BeirImportSchema>, 'queries' | 'qrels'>, docs: Map<string, string>): { cases: NewCase[]; unmapped: Set<string>; skippedAllZero: number } {
  const byQuery = new Map<string, { document_id: string; grade: number }[]>();
  const unmapped = new Set<string>();
  for (const q of body.qrels) {
    const documentId = docs.get(q.corpus_id);
    if (!documentId) {
      unmapped.add(q.corpus_id);
      continue;
    }
    if (!byQuery.has(q.query_id)) byQuery.set(q.query_id, []);
    byQuery.get(q.query_id)!.push({ document_id: documentId, grade: q.grade });
  }
  // Only judged queries become cases (BEIR evaluates the queries in the qrels).
  const judged = body.queries.filter((q) => byQuery.has(q._id));
  const useful = judged.filter((q) => byQuery.get(q._id)!.some((r) => r.grade > 0));
  const cases: NewCase[] = useful.map((q) => ({ question: q.text.slice(0, 4000), relevant: byQuery.get(q._id)!, externalId: q._id }));
  return { cases, unmapped, skippedAllZero: judged.length - useful.length };
}

const IdParams = z.object({ id: UuidSchema });
const ListQuery = pageQuery(50, 200).extend({ collection_id: UuidSchema.optional() });
const CasesQuery = pageQuery(100, 1000);
const CaseCursor = z.tuple([z.number().int(), UuidSchema]);
const JsonlImport = z.object({ jsonl: z.string().min(1).max(50_000_000) }).strict();

/** One page of a set's cases as `reader` may see them: judgments naming documents hidden from it are withheld and counted. */
async function casePage(db: Db, setId: string, query: unknown, reader: Pick<Identity, 'groups'>) {
  const q = parseWith(CasesQuery, query, 'query');
  const page = await pageCases(db, setId, q.cursor ? decodeCursor(q.cursor, CaseCursor) : null, q.limit);
  return { data: await casesForReader(db, page.data, reader), next_cursor: page.next_cursor };
}

export function evalSetRoutes(deps: { db: Db; models: GatewayModels }): Router {
  const { db } = deps;
  const router = exactRouter();

  router.post(
    '/v1/eval-sets',
    handle(async (req, res) => {
      const identity = requireWriter(res);
      const body = parseWith(CreateEvalSetSchema, req.body);
      const collection = await loadCollection(db, identity.team_id, body.collection_id, ownerReach(identity));
      const cases = await toNewCases(db, collection.id, body.cases ?? []);
      const id = await db.transaction(async (tx) => {
        const setId = await createEvalSet(tx, { teamId: collection.teamId, collectionId: collection.id, name: body.name, description: body.description ?? null });
        if (cases.length) await addCases(tx, setId, cases);
        return setId;
      });
      res.status(201).json({ object: 'eval_set', ...(await getEvalSet(db, identity.team_id, id, ownerReach(identity))) });
    }),
  );

  router.get(
    '/v1/eval-sets',
    handle(async (req, res) => {
      const q = parseWith(ListQuery, req.query, 'query');
      const { identity } = ctx(res);
      const after = q.cursor ? decodeCursor(q.cursor, CreatedCursor) : null;
      res.json({ object: 'list', ...(await pageEvalSets(db, { teamId: identity.team_id, collectionId: q.collection_id ?? null, reach: ownerReach(identity), after, limit: q.limit })) });
    }),
  );

  // The set with one page of its cases (`data`, `next_cursor`); `/cases` pages the cases alone.
  router.get(
    '/v1/eval-sets/:id',
    handle(async (req, res) => {
      const { identity } = ctx(res);
      const set = await getEvalSet(db, identity.team_id, paramsOf(req, IdParams, { id: evalSetNotFound }).id, ownerReach(identity));
      res.json({ object: 'eval_set', ...set, ...(await casePage(db, set.id, req.query, identity)) });
    }),
  );

  router.get(
    '/v1/eval-sets/:id/cases',
    handle(async (req, res) => {
      const { identity } = ctx(res);
      const set = await getEvalSet(db, identity.team_id, paramsOf(req, IdParams, { id: evalSetNotFound }).id, ownerReach(identity));
      res.json({ object: 'list', eval_set_id: set.id, ...(await casePage(db, set.id, req.query, identity)) });
    }),
  );

  router.post(
    '/v1/eval-sets/:id/cases',
    handle(async (req, res) => {
      const identity = requireWriter(res);
      const set = await getEvalSet(db, identity.team_id, paramsOf(req, IdParams, { id: evalSetNotFound }).id, ownerReach(identity));
      const parsed = parseWith(AddCasesSchema, req.body);
      const bodies = Array.isArray(parsed) ? parsed : parsed.cases;
      const cases = await toNewCases(db, set.collection_id, bodies);
      const ids = await db.transaction((tx) => addCases(tx, set.id, cases));
      res.status(201).json({ object: 'list', eval_set_id: set.id, ids });
    }),
  );

  // JSONL: one case per line, in the shape of `POST /v1/eval-sets/:id/cases` items.
  router.post(
    '/v1/eval-sets/:id/import',
    handle(async (req, res) => {
      const identity = requireWriter(res);
      const set = await getEvalSet(db, identity.team_id, paramsOf(req, IdParams, { id: evalSetNotFound }).id, ownerReach(identity));
      const { jsonl } = parseWith(JsonlImport, req.body);
      const bodies = jsonl
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((line, i) => {
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch {
            throw new AppError('invalid_request', `Line ${i + 1} is not valid JSON.`, { param: 'jsonl' });
          }
          return parseWith(EvalCaseBodySchema, value, `jsonl line ${i + 1}`);
        });
      const cases = await toNewCases(db, set.collection_id, bodies);
      const ids = await db.transaction((tx) => addCases(tx, set.id, cases));
      res.status(201).json({ object: 'list', eval_set_id: set.id, ids });
    }),
  );

  /**
   * BEIR queries + qrels over a corpus already uploaded with metadata `beir_id` (the client
   * uploads it through the ingestion API first: `importBeir` in @quire/eval, `pnpm eval import-beir`).
   */
  router.post(
    '/v1/eval-sets/import/beir',
    handle(async (req, res) => {
      const identity = requireWriter(res);
      const body = parseWith(BeirImportSchema, req.body);
      const collection = await loadCollection(db, identity.team_id, body.collection_id, ownerReach(identity));
      const docs = await documentsByBeirId(db, collection.id, [...new Set(body.qrels.map((q) => q.corpus_id))]);
      const { cases, unmapped, skippedAllZero } = beirCases(body, docs);
      if (cases.length === 0) throw new AppError('invalid_request', 'No query has a relevant document that is in the collection (upload the corpus with metadata beir_id first).', { param: 'qrels' });
      const id = await db.transaction(async (tx) => {
        const setId = await createEvalSet(tx, { teamId: collection.teamId, collectionId: collection.id, name: body.name, description: 'Imported from a BEIR-style set' });
        await addCases(tx, setId, cases);
        return setId;
      });
      res.status(201).json({ object: 'eval_set', ...(await getEvalSet(db, identity.team_id, id, ownerReach(identity))), unmapped_corpus_ids: [...unmapped].slice(0, 100), unmapped_count: unmapped.size, skipped_all_zero_queries: skippedAllZero });
    }),
  );

  router.post(
    '/v1/eval-sets/generate',
    handle(async (req, res) => {
      const identity = requireWriter(res);
      const body = parseWith(GenerateSetSchema, req.body);
      const collection = await loadCollection(db, identity.team_id, body.collection_id, ownerReach(identity));
      const { identityToken, traceId } = ctx(res);
      let cases: NewCase[];
      try {
        cases = await generateSyntheticCases(deps, { collectionId: collection.id, model: body.model, count: body.count, seed: body.seed, call: { identityToken, traceId, collectionId: collection.id } });
      } catch (error) {
        throw toAppErrorOrInternal(error);
      }
      if (cases.length === 0) throw new AppError('invalid_request', 'The model produced no usable question (or the collection has no chunks).');
      const id = await db.transaction(async (tx) => {
        const setId = await createEvalSet(tx, { teamId: collection.teamId, collectionId: collection.id, name: body.name, description: `Draft generated by ${body.model}; review before trusting it`, synthetic: true });
        await addCases(tx, setId, cases);
        return setId;
      });
      res.status(201).json({ object: 'eval_set', ...(await getEvalSet(db, identity.team_id, id, ownerReach(identity))) });
    }),
  );
  return router;
}
