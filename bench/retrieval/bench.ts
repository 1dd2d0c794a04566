/**
 * `pnpm bench:retrieval`: a generated 100k-chunk collection in PGlite (384-dim clustered vectors,
 * Zipfian text), searched in each mode through Quire's search pipeline with a zero-cost fake
 * embedder. Prints load/index build times, p50/p95/p99 of Quire's own work per mode, HNSW
 * recall@10 against exact search, and queries/s at concurrency 1, 8 and 32.
 * Options: --chunks N --queries N --keep (leave the data folder).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { migrate, openPGlite, type Db } from '@quire/db';
import { percentile, seededRandom } from '@quire/eval';
import { precomputedModels } from './precomputed-models.js';
import { createBm25KeywordRetriever, runSearch, vectorQuery, vectorSearch, type CollectionForQuery, type SearchDeps } from '@quire/retrieval';
import { buildHnsw, bulkLoad, createBenchCollection } from './bulk-load.js';
import { generateCorpus, makeQuery } from './synthetic-corpus.js';

const { values: args } = parseArgs({
  options: { chunks: { type: 'string', default: '100000' }, queries: { type: 'string', default: '300' }, keep: { type: 'boolean', default: false } },
});
const CHUNKS = Number(args.chunks);
const QUERIES = Number(args.queries);
const DIMS = 384;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function exactTop(db: Db, collection: CollectionForQuery, embedding: number[], k: number): Promise<string[]> {
  const { sql, params } = vectorQuery({ collectionId: collection.id, indexVersionId: collection.indexVersionId!, dimensions: DIMS, embedding, limit: k });
  return db.transaction(async (tx) => {
    await tx.query('SET LOCAL enable_indexscan = off');
    await tx.query('SET LOCAL enable_bitmapscan = off');
    return (await tx.query<{ chunk_id: string }>(sql, params)).rows.map((r) => r.chunk_id);
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quire-bench-'));
  console.log(`retrieval benchmark: ${CHUNKS} chunks, ${DIMS} dims, ${QUERIES} queries; PGlite in ${dir}; ${os.cpus().length} cpus, node ${process.version}`);
  let t = performance.now();
  const corpus = generateCorpus({ chunks: CHUNKS, dimensions: DIMS, topics: Math.max(8, Math.round(CHUNKS / 400)), vocabulary: 40_000, seed: 7 });
  console.log(`generate corpus: ${secs(performance.now() - t)} (avg ${Math.round(corpus.texts.reduce((s, x) => s + x.split(' ').length, 0) / CHUNKS)} words/chunk)`);

  const db = await openPGlite({ dataDir: dir });
  await migrate(db);
  const coll = await createBenchCollection(db, { name: 'bench', dimensions: DIMS });
  t = performance.now();
  await bulkLoad(db, coll, corpus.texts.map((text, i) => ({ title: `Chunk ${i}`, text, embedding: corpus.vectors[i]! })), 1000);
  const loadMs = performance.now() - t;
  t = performance.now();
  await buildHnsw(db, coll);
  const hnswMs = performance.now() - t;
  t = performance.now();
  await db.exec('VACUUM ANALYZE');
  const postings = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM bm25_postings');
  console.log(`load (chunks + vectors + BM25 postings, ${postings.rows[0]!.n} postings): ${secs(loadMs)}; HNSW build: ${secs(hnswMs)}; VACUUM ANALYZE: ${secs(performance.now() - t)}`);

  const r = seededRandom(11);
  const queries = Array.from({ length: QUERIES }, () => makeQuery(corpus, Math.floor(r() * CHUNKS), r));
  const deps: SearchDeps = { db, models: precomputedModels(new Map(queries.map((q) => [q.text, q.vector]))), keyword: createBm25KeywordRetriever(db) };
  const collection: CollectionForQuery = { id: coll.collectionId, name: 'bench', generationModel: null, indexVersionId: coll.indexVersionId, embeddingModel: 'fake/embed', dimensions: DIMS };
  const call = { identityToken: 'x', traceId: 'bench' };
  const search = (q: (typeof queries)[number], mode: 'keyword' | 'vector' | 'hybrid') => runSearch(deps, { collection, query: q.text, topK: 10, mode, call });

  for (const q of queries.slice(0, 20)) await search(q, 'hybrid'); // warm caches
  console.log('\n| mode | p50 ms | p95 ms | p99 ms | (Quire\'s own work: total minus the fake embed call) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const mode of ['keyword', 'vector', 'hybrid'] as const) {
    const own: number[] = [];
    for (const q of queries) {
      const out = await search(q, mode);
      own.push(out.timings.total! - (out.timings.embed ?? 0));
    }
    own.sort((a, b) => a - b);
    console.log(`| ${mode} | ${percentile(own, 50).toFixed(1)} | ${percentile(own, 95).toFixed(1)} | ${percentile(own, 99).toFixed(1)} | |`);
  }

  const recallQueries = queries.slice(0, 100);
  let found = 0;
  for (const q of recallQueries) {
    const approx = await vectorSearch(db, { collectionId: collection.id, indexVersionId: collection.indexVersionId!, dimensions: DIMS, embedding: q.vector, limit: 10 });
    const exact = new Set(await exactTop(db, collection, q.vector, 10));
    found += approx.filter((h) => exact.has(h.chunkId)).length;
  }
  console.log(`\nHNSW recall@10 vs exact search (${recallQueries.length} queries, the service's ef_search 80): ${(found / (recallQueries.length * 10)).toFixed(3)}`);

  console.log('\n| concurrency | hybrid queries/s | keyword queries/s |');
  console.log('| --- | --- | --- |');
  for (const concurrency of [1, 8, 32]) {
    const row: string[] = [];
    for (const mode of ['hybrid', 'keyword'] as const) {
      let next = 0;
      t = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < queries.length) await search(queries[next++]!, mode);
        }),
      );
      row.push((queries.length / ((performance.now() - t) / 1000)).toFixed(0));
    }
    console.log(`| ${concurrency} | ${row.join(' | ')} |`);
  }
  await db.close();
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}

await main();
