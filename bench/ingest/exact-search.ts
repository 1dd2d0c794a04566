/**
 * node --import tsx bench/ingest/exact-search.ts [--dims 256] [--sizes 2500,5000,10000,20000]
 *
 * What a vector query costs on an index version without an HNSW graph (exact: every vector of the
 * version scored), as retrieval runs it, in in-memory PGlite with fresh planner statistics: the
 * basis for `hnswMinVectors` (graphs only for versions where exact search gets slow) and
 * `hnswMaxPending` (the exact tail beside a graph).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { openTestDatabase } from '@quire/db';
import { rng } from '../retrieval/synthetic-corpus.js';
import { vectorSearch } from '../../services/retrieval/src/search/vector-search.js';

const { values: args } = parseArgs({ options: { dims: { type: 'string', default: '256' }, sizes: { type: 'string', default: '2500,5000,10000,20000' } } });
const D = Number(args.dims);
const SIZES = args.sizes!.split(',').map(Number);

async function main(): Promise<void> {
  const db = await openTestDatabase();
  const r = rng(1);
  // Vectors around 50 centroids, as crowded as real embeddings.
  const centroids = Array.from({ length: 50 }, () => Array.from({ length: D }, () => r() - 0.5));
  const vector = () => {
    const c = centroids[Math.floor(r() * centroids.length)]!;
    const v = c.map((x) => x + (r() - 0.5) * 0.6);
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const coll = randomUUID();
  const version = randomUUID();
  const doc = randomUUID();
  await db.transaction(async (tx) => {
    await tx.query(`INSERT INTO collections (id, team_id, name, embedding_model, chunking, current_index_version_id) VALUES ($1, 't', 'exact', 'x/y', '{}', $2)`, [coll, version]);
    await tx.query(`INSERT INTO index_versions (id, collection_id, embedding_model, dimensions, status, hnsw_state) VALUES ($1, $2, 'x/y', $3, 'ready', 'exact')`, [version, coll, D]);
    await tx.query(`INSERT INTO documents (id, collection_id, team_id, mime_type, byte_size, content_sha256, status) VALUES ($1, $2, 't', 'text/plain', 1, 's', 'ready')`, [doc, coll]);
  });
  let have = 0;
  for (const size of SIZES) {
    while (have < size) {
      const ids = Array.from({ length: Math.min(1000, size - have) }, () => randomUUID());
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO chunks (id, document_id, collection_id, ordinal, text, content_sha256, char_start, char_end)
           SELECT u.id, $1, $2, u.o, 'x', 's', 0, 1 FROM unnest($3::uuid[], $4::int[]) AS u(id, o)`,
          [doc, coll, ids, ids.map((_, i) => have + i)],
        );
        await tx.query(
          `INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding, graph_pending) SELECT u.id, $1, u.e::vector, true FROM unnest($2::uuid[], $3::text[]) AS u(id, e)`,
          [version, ids, ids.map(() => `[${vector().map((x) => x.toPrecision(7)).join(',')}]`)],
        );
      });
      have += ids.length;
    }
    await db.query('ANALYZE chunk_vectors, chunks, documents');
    const times: number[] = [];
    for (let q = 0; q < 30; q++) {
      const t = performance.now();
      await vectorSearch(db, { collectionId: coll, indexVersionId: version, dimensions: D, embedding: vector(), limit: 40 });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`${D} dims, ${size} vectors, exact: p50 ${times[15]!.toFixed(1)} ms, p90 ${times[27]!.toFixed(1)} ms`);
  }
  await db.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
