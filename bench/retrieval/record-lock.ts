/**
 * What the key-share lock in a search's record costs. Since a search's `insertQuery` locks its
 * collections' rows FOR KEY SHARE inside its INSERT (services/retrieval/src/queries/query-repository.ts
 * `COLLECTIONS_LIVE`), every search of one collection writes a lock marker into the same row: with
 * several in flight, a MultiXact holding every current locker. This runs N concurrent searches of one
 * collection on PostgreSQL, each recorded as a search is, with the lock and without it (the same
 * statement, the same existence check, no FOR KEY SHARE), and prints p50/p95 latency and throughput.
 *
 * The record's SQL below is this script's own copy of the search branch of `insertQuery` (the chunk
 * count, then the INSERT ... WHERE live); the product is not touched.
 *
 *   node --import tsx bench/retrieval/record-lock.ts [--url postgres://postgres@127.0.0.1:5432/postgres]
 *     [--chunks 5000] [--ops 1500] [--concurrency 1,8,32] [--rounds 2]
 *
 * A fresh database (a clone of the migrated template, dropped at the end) holds one collection of
 * `--chunks` synthetic chunks (384 dimensions, HNSW). Per concurrency and variant: `--rounds` rounds
 * of `--ops` operations, the variants interleaved (locked, unlocked, locked, ...) so drift on a shared
 * machine falls on both. Two workloads: the record alone (the statement the lock is in, worst case)
 * and a vector search through the product's `runSearch` plus its record (what a caller waits for).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { openPostgres, openPostgresTestDatabase, type Db } from '@quire/db';
import { percentile, seededRandom } from '@quire/eval';
import { precomputedModels } from './precomputed-models.js';
import { createBm25KeywordRetriever, runSearch, type CollectionForQuery, type SearchDeps, type SearchOutcome } from '@quire/retrieval';
import { buildHnsw, bulkLoad, createBenchCollection } from './bulk-load.js';
import { generateCorpus, makeQuery } from './synthetic-corpus.js';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    chunks: { type: 'string', default: '5000' },
    ops: { type: 'string', default: '1500' },
    concurrency: { type: 'string', default: '1,8,32' },
    rounds: { type: 'string', default: '2' },
  },
});
const CHUNKS = Number(args.chunks);
const OPS = Number(args.ops);
const CONCURRENCY = args.concurrency.split(',').map(Number);
const ROUNDS = Number(args.rounds);
const DIMS = 384;

/** As in the product (query-repository.ts `COLLECTIONS_LIVE`). */
const LIVE_LOCKED = `(SELECT count(*) FROM (SELECT id FROM collections WHERE id = ANY($23::uuid[]) ORDER BY id FOR KEY SHARE) live) = cardinality($23::uuid[])`;
/** The same check without the lock. */
const LIVE_UNLOCKED = `(SELECT count(*) FROM (SELECT id FROM collections WHERE id = ANY($23::uuid[]) ORDER BY id) live) = cardinality($23::uuid[])`;
type Variant = 'locked' | 'unlocked';
const LIVE: Record<Variant, string> = { locked: LIVE_LOCKED, unlocked: LIVE_UNLOCKED };

/** The search branch of `insertQuery`: chunks still there, then the insert guarded by the live check. */
async function record(db: Db, variant: Variant, collectionId: string, query: string, outcome: SearchOutcome): Promise<void> {
  const chunkIds = [...new Set(outcome.results.map((r) => r.chunkId))];
  const documentIds = [...new Set(outcome.results.map((r) => r.documentId))];
  const chunks = chunkIds.length === 0 ? 0 : Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunks WHERE id = ANY($1::uuid[])`, [chunkIds])).rows[0]?.n ?? 0);
  const redacted = chunks < chunkIds.length;
  const results = outcome.results.map((r) => ({ rank: r.rank, chunk_id: r.chunkId, document_id: r.documentId, score: r.score, scores: r.scores }));
  const inserted = await db.query(
    `INSERT INTO queries (id, team_id, key_id, collection_id, kind, query, mode, status, answer, results, citations, timings_ms, models,
  collection_ids, conversation_id, rewritten_query, prompt_tokens, no_answer, latency_ms, trace, document_ids, redacted_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12::jsonb, $13::jsonb, $14::uuid[], $15, $16, $17, $18, $19, $20::jsonb, $21::uuid[],
  CASE WHEN $22::boolean THEN now() END
WHERE ${LIVE[variant]}`,
    [
      randomUUID(), 'default', 'key-bench', collectionId, 'search', query, outcome.mode, 'ok', null, JSON.stringify(results), '[]',
      JSON.stringify(outcome.timings), JSON.stringify({ embedding: 'fake/embed' }), [collectionId], null, null, null, null,
      outcome.timings.total === undefined ? null : Math.round(outcome.timings.total), JSON.stringify(outcome.trace), documentIds, redacted, [collectionId],
    ],
  );
  if (inserted.rowCount !== 1) throw new Error('record dropped');
}

/** `ops` operations over `concurrency` workers: each operation's latency, and the wall time of all. */
async function drive(concurrency: number, ops: number, op: (i: number) => Promise<void>): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ops) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, wallMs: performance.now() - start };
}

/** The next MultiXact id as of a checkpoint taken now (superuser: the bench's admin URL). */
async function nextMultixact(db: Db): Promise<bigint> {
  await db.exec('CHECKPOINT');
  const r = await db.query<{ next: string }>(`SELECT next_multixact_id::text AS next FROM pg_control_checkpoint()`);
  return BigInt(r.rows[0]!.next);
}

interface Tally {
  latencies: number[];
  wallMs: number;
  ops: number;
  multixacts: bigint;
}

async function main(): Promise<void> {
  console.log(`record-lock benchmark: ${CHUNKS} chunks, ${OPS} ops x ${ROUNDS} rounds per variant; concurrency ${CONCURRENCY.join(', ')}; ${os.cpus().length} cpus, node ${process.version}`);
  const testDb = await openPostgresTestDatabase(args.url);
  const db = openPostgres(testDb.connectionString, { max: Math.max(...CONCURRENCY) + 2 });
  try {
    const server = await db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    console.log(`PostgreSQL ${server.rows[0]!.v}, fresh database ${testDb.connectionString.replace(/^.*\//, '')}`);
    const corpus = generateCorpus({ chunks: CHUNKS, dimensions: DIMS, topics: Math.max(8, Math.round(CHUNKS / 400)), vocabulary: 20_000, seed: 7 });
    const coll = await createBenchCollection(db, { name: 'record-lock', dimensions: DIMS });
    await bulkLoad(db, coll, corpus.texts.map((text, i) => ({ title: `Chunk ${i}`, text, embedding: corpus.vectors[i]! })), 1000);
    await buildHnsw(db, coll);
    await db.exec('VACUUM ANALYZE');

    const r = seededRandom(11);
    const queries = Array.from({ length: 500 }, () => makeQuery(corpus, Math.floor(r() * CHUNKS), r));
    const deps: SearchDeps = { db, models: precomputedModels(new Map(queries.map((q) => [q.text, q.vector]))), keyword: createBm25KeywordRetriever(db) };
    const collection: CollectionForQuery = { id: coll.collectionId, name: 'record-lock', generationModel: null, indexVersionId: coll.indexVersionId, embeddingModel: 'fake/embed', dimensions: DIMS };
    const call = { identityToken: 'x', traceId: 'bench' };
    const search = (i: number) => runSearch(deps, { collection, query: queries[i % queries.length]!.text, topK: 10, mode: 'vector', call });
    // One search's outcome per query, for the record-only workload.
    const outcomes: SearchOutcome[] = [];
    for (let i = 0; i < queries.length; i++) outcomes.push(await search(i));
    for (let i = 0; i < 200; i++) await record(db, i % 2 ? 'locked' : 'unlocked', coll.collectionId, queries[i]!.text, outcomes[i]!); // warm

    const workloads = {
      'record only': (variant: Variant) => async (i: number) => record(db, variant, coll.collectionId, queries[i % queries.length]!.text, outcomes[i % outcomes.length]!),
      'search + record': (variant: Variant) => async (i: number) => record(db, variant, coll.collectionId, queries[i % queries.length]!.text, await search(i)),
    } as const;

    const rows: string[] = [];
    for (const [name, make] of Object.entries(workloads)) {
      const ops = name === 'record only' ? OPS * 2 : OPS;
      for (const concurrency of CONCURRENCY) {
        const tally: Record<Variant, Tally> = {
          locked: { latencies: [], wallMs: 0, ops: 0, multixacts: 0n },
          unlocked: { latencies: [], wallMs: 0, ops: 0, multixacts: 0n },
        };
        for (let round = 0; round < ROUNDS; round++) {
          for (const variant of (round % 2 ? ['unlocked', 'locked'] : ['locked', 'unlocked']) as Variant[]) {
            const before = await nextMultixact(db);
            const out = await drive(concurrency, ops, make(variant));
            const t = tally[variant];
            t.latencies.push(...out.latencies);
            t.wallMs += out.wallMs;
            t.ops += ops;
            t.multixacts += (await nextMultixact(db)) - before;
          }
        }
        const line = (v: Variant) => {
          const t = tally[v];
          const sorted = [...t.latencies].sort((a, b) => a - b);
          return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), qps: t.ops / (t.wallMs / 1000), mx: t.multixacts };
        };
        const lk = line('locked');
        const un = line('unlocked');
        const delta = ((lk.qps - un.qps) / un.qps) * 100;
        rows.push(
          `| ${name} | ${concurrency} | ${lk.p50.toFixed(2)} / ${un.p50.toFixed(2)} | ${lk.p95.toFixed(2)} / ${un.p95.toFixed(2)} | ${lk.qps.toFixed(0)} / ${un.qps.toFixed(0)} | ${delta >= 0 ? '+' : ''}${delta.toFixed(1)}% | ${lk.mx} / ${un.mx} |`,
        );
        console.log(rows.at(-1));
      }
    }
    console.log('\n| workload | concurrency | p50 ms locked / unlocked | p95 ms locked / unlocked | ops/s locked / unlocked | throughput change with the lock | MultiXacts created locked / unlocked |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const row of rows) console.log(row);
  } finally {
    await db.close();
    await testDb.close();
  }
}

await main();
