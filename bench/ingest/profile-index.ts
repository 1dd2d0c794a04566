/**
 * node --import tsx bench/ingest/profile-index.ts [--docs 40] [--chunks 80] [--dims 256] [--hnsw exact|inline|none] [--disk]
 * Times the database work ingestion does per document outside parsing: the embedding cache write
 * (`embedChunks`) and each statement of the index transaction (`indexChunks`), on the benchmark's
 * Zipfian text (1,000-character chunks, about 66 distinct terms each) with nothing else running, so
 * statements are timed without waiting for the connection. `--hnsw exact` (default) is what
 * ingestion does for a new version (vectors pending, no graph); `inline` grows the version's HNSW
 * graph on every insert; `none` is inline with a plain index in the graph's place. `--disk` keeps
 * the data in a temporary folder, as the embedded mode and `pnpm bench:ingest` do.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase, openTestDatabase } from '@quire/db';
import type { ChunkDraft } from '../../services/ingestion/src/chunk/chunk-text.js';
import { embedChunks } from '../../services/ingestion/src/embed/embed-chunks.js';
import { indexChunks } from '../../services/ingestion/src/index/index-chunks.js';
import { createFakeGatewayModels } from '../../services/ingestion/src/testing/fake-gateway-models.js';
import { corpusText } from './corpus.js';
import { timedDb, topStatements, type StatementTimings } from './timed-db.js';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '40' },
    chunks: { type: 'string', default: '80' },
    dims: { type: 'string', default: '256' },
    hnsw: { type: 'string', default: 'exact' },
    disk: { type: 'boolean', default: false },
  },
});
const DOCS = Number(args.docs);
const CHUNKS = Number(args.chunks);
const DIMS = Number(args.dims);
const HNSW = args.hnsw!;
if (!['exact', 'inline', 'none'].includes(HNSW)) throw new Error('--hnsw exact|inline|none');

function chunkDrafts(text: ReturnType<typeof corpusText>): ChunkDraft[] {
  text.nextDocument();
  return Array.from({ length: CHUNKS }, (_, i) => {
    let body = '';
    while (body.length < 1000) body += `${text.line()} `;
    return { ordinal: i, text: body, contentSha256: createHash('sha256').update(body).digest('hex'), charStart: 0, charEnd: body.length, pageStart: 1, pageEnd: 1, headingPath: [] };
  });
}

async function main() {
  const dataDir = args.disk ? mkdtempSync(path.join(os.tmpdir(), 'quire-profile-index-')) : null;
  const raw = dataDir ? await openDatabase({ dataDir }) : await openTestDatabase();
  const timings: StatementTimings = new Map();
  const db = timedDb(raw, timings);
  const fake = createFakeGatewayModels({ dimensions: DIMS, maxEmbeddingsPerCall: 96 });
  const team = 'team_profile';
  const insert = async (sql: string, params: unknown[]) => (await raw.query<{ id: string }>(sql, params)).rows[0]!.id;
  const coll = await insert(`INSERT INTO collections (team_id, name, embedding_model, chunking) VALUES ($1, 'p', 'openai/x', '{}'::jsonb) RETURNING id`, [team]);
  const iv = await insert(`INSERT INTO index_versions (collection_id, embedding_model, status, hnsw_state) VALUES ($1, 'openai/x', 'ready', $2) RETURNING id`, [
    coll,
    HNSW === 'exact' ? 'exact' : 'inline',
  ]);
  await raw.query(`UPDATE collections SET current_index_version_id = $2 WHERE id = $1`, [coll, iv]);
  if (HNSW === 'none') await raw.query(`CREATE INDEX chunk_vectors_hnsw_${iv.replace(/-/g, '')} ON chunk_vectors (chunk_id) WHERE index_version_id = '${iv}'`);
  const text = corpusText();
  const docs = Array.from({ length: DOCS }, () => chunkDrafts(text));
  const t0 = performance.now();
  for (const [d, chunks] of docs.entries()) {
    const doc = await insert(
      `INSERT INTO documents (collection_id, team_id, filename, mime_type, byte_size, content_sha256, status, version)
       VALUES ($1, $2, 'f', 'text/plain', 1, $3, 'processing', 1) RETURNING id`,
      [coll, team, `sha${d}`],
    );
    const hashes = chunks.map((c) => c.contentSha256);
    const embedded = await embedChunks({
      models: fake.models,
      modelName: 'openai/x',
      texts: chunks.map((c) => c.text),
      hashes,
      cache: { db, teamId: team },
      context: () => ({ identityToken: 't', traceId: 't', purpose: 'ingest-embed' }),
      expectedDimensions: DIMS,
      batchCap: 96,
      onBatch: async () => undefined,
    });
    const cached = { ...embedded.cached!, hashes };
    await indexChunks(db, { documentId: doc, collectionId: coll, version: 1, chunks, vectors: { indexVersionId: iv, dimensions: DIMS, values: embedded.vectors, cached } });
  }
  const ms = performance.now() - t0;
  const total = DOCS * CHUNKS;
  const postings = (await raw.query<{ n: number }>(`SELECT count(*)::int AS n FROM bm25_postings`)).rows[0]!.n;
  console.log(
    `${DOCS} docs x ${CHUNKS} chunks (${DIMS} dims, --hnsw ${HNSW}, ${dataDir ? 'on disk' : 'in memory'}): ${(ms / total).toFixed(2)} ms per chunk, ` +
      `${(ms / DOCS).toFixed(0)} ms per document; ${(postings / total).toFixed(1)} postings rows per chunk`,
  );
  for (const line of topStatements(timings, total, 'chunk')) console.log(line);
  await raw.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
