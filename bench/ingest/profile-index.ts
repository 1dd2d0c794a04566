/**
 * node --import tsx bench/ingest/profile-index.ts [--docs 40] [--chunks 80] [--dims 256] [--hnsw exact|inline|none]
 * Times each statement of the index transaction (`indexChunks`) in in-memory PGlite, grouped by
 * the statement's first words, so the cost of chunks, postings, vectors (HNSW) and progress
 * writes can be compared per chunk. `--hnsw exact` (default) is what ingestion does for a new
 * version (vectors pending, no graph); `inline` grows the version's HNSW graph on every insert (a
 * version from before deferred graphs, or one past its pending cap); `none` is inline with a plain
 * index in the graph's place, isolating the graph-insert cost.
 */
import { createHash } from 'node:crypto';
import { openTestDatabase } from '@quire/db';
import { indexChunks } from '../../services/ingestion/src/index/index-chunks.js';
import type { ChunkDraft } from '../../services/ingestion/src/chunk/chunk-text.js';
import { timedDb, topStatements, type StatementTimings } from './timed-db.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const DOCS = arg('docs', 40);
const CHUNKS = arg('chunks', 80);
const DIMS = arg('dims', 256);
const HNSW = process.argv.includes('--hnsw') ? process.argv[process.argv.indexOf('--hnsw') + 1] : 'exact';
if (!['exact', 'inline', 'none'].includes(HNSW ?? '')) throw new Error('--hnsw exact|inline|none');
const WORDS = 'policy laptop warranty travel hotel manager budget report quarter revenue customer support contract renewal security training'.split(' ');

const timings: StatementTimings = new Map();

function vector(seed: number): number[] {
  const v = Array.from({ length: DIMS }, (_, i) => Math.sin(seed * 13.7 + i * 0.37));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

async function main() {
  const raw = await openTestDatabase();
  const db = timedDb(raw, timings);
  const team = 'team_profile';
  const coll = (
    await raw.query<{ id: string }>(
      `INSERT INTO collections (team_id, name, embedding_model, chunking) VALUES ($1, 'p', 'openai/x', '{}'::jsonb) RETURNING id`,
      [team],
    )
  ).rows[0]!.id;
  const iv = (
    await raw.query<{ id: string }>(`INSERT INTO index_versions (collection_id, embedding_model, status, hnsw_state) VALUES ($1, 'openai/x', 'ready', $2) RETURNING id`, [
      coll,
      HNSW === 'exact' ? 'exact' : 'inline',
    ])
  ).rows[0]!.id;
  await raw.query(`UPDATE collections SET current_index_version_id = $2 WHERE id = $1`, [coll, iv]);
  if (HNSW === 'none') await raw.query(`CREATE INDEX chunk_vectors_hnsw_${iv.replace(/-/g, '')} ON chunk_vectors (chunk_id) WHERE index_version_id = '${iv}'`);
  let total = 0;
  const t0 = performance.now();
  for (let d = 0; d < DOCS; d++) {
    const doc = (
      await raw.query<{ id: string }>(
        `INSERT INTO documents (collection_id, team_id, filename, mime_type, byte_size, content_sha256, status, version)
         VALUES ($1, $2, 'f', 'text/plain', 1, $3, 'processing', 1) RETURNING id`,
        [coll, team, `sha${d}`],
      )
    ).rows[0]!.id;
    const chunks: ChunkDraft[] = Array.from({ length: CHUNKS }, (_, i) => {
      const text = Array.from({ length: 150 }, (_, k) => WORDS[(d * 7 + i * 3 + k * 5) % WORDS.length]).join(' ') + ` d${d} c${i}.`;
      return { ordinal: i, text, contentSha256: createHash('sha256').update(text).digest('hex'), charStart: 0, charEnd: text.length, pageStart: 1, pageEnd: 1, headingPath: [] };
    });
    await indexChunks(db, { documentId: doc, collectionId: coll, version: 1, chunks, vectors: { indexVersionId: iv, dimensions: DIMS, values: chunks.map((_, i) => vector(d * 1000 + i)) } });
    total += CHUNKS;
  }
  const ms = performance.now() - t0;
  console.log(`${DOCS} docs x ${CHUNKS} chunks (${DIMS} dims, --hnsw ${HNSW}): ${(ms / total).toFixed(2)} ms per chunk, ${(ms / DOCS).toFixed(0)} ms per document`);
  for (const line of topStatements(timings, total, 'chunk')) console.log(line);
  await raw.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
