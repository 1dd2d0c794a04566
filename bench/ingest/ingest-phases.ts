/** The ingestion benchmark's phases; each runs in its own process (see ingest-bench.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, openPostgresTestDatabase, openTestDatabase } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import { createLogger, listen } from '@quire/server-kit';
import { graphThreshold } from '../../packages/index-versions/src/index.js';
import { createIngestionService, DEFAULT_LIMITS } from '../../services/ingestion/src/index.js';
import { createParsePool } from '../../services/ingestion/src/parse/parse-pool.js';
import { createFakeGatewayModels } from '../../services/ingestion/src/testing/fake-gateway-models.js';
import { client, TEST_SECRET } from '../../services/ingestion/src/testing/http.js';
import { vectorSearch } from '../../services/retrieval/src/search/vector-search.js';
import { timedDb, topStatements, type StatementTimings } from './timed-db.js';

const CHUNKING = { strategy: 'recursive' as const, chunk_size: 1000, chunk_overlap: 150 };
/** getrusage's peak resident set: the whole process, worker threads and the WASM database included. */
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

export interface ParseResult {
  workers: number;
  pages: number;
  chunks: number;
  ms: number;
  peakRssMb: number;
}

export async function runParse(corpus: Uint8Array[]): Promise<ParseResult> {
  const limits = DEFAULT_LIMITS;
  const pool = createParsePool({
    size: limits.parseWorkers,
    timeoutMs: limits.parseTimeoutMs,
    chunkTimeoutMs: limits.chunkTimeoutMs,
    maxHeapMb: limits.parseHeapMb,
    limits: { maxPages: limits.maxPages, maxChars: limits.maxExtractedChars, maxZipEntries: limits.maxZipEntries, maxUncompressedBytes: limits.maxUncompressedBytes },
  });
  // Worker start-up and JIT warm-up (about a second per worker) are not parsing.
  await Promise.all(Array.from({ length: limits.parseWorkers * 2 }, (_, i) => pool.parseAndChunk(corpus[i % corpus.length]!, 'application/pdf', CHUNKING)));
  const t = performance.now();
  let pages = 0;
  let chunks = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: limits.parseWorkers }, async () => {
      while (next < corpus.length) {
        // Parsed and chunked in the worker, as the service does.
        const parsed = await pool.parseAndChunk(corpus[next++]!, 'application/pdf', CHUNKING);
        pages += parsed.pagesTotal ?? 0;
        chunks += parsed.chunks.length;
      }
    }),
  );
  const ms = performance.now() - t;
  await pool.close();
  return { workers: limits.parseWorkers, pages, chunks, ms, peakRssMb: peakRssMb() };
}

export interface E2eResult {
  pages: number;
  chunks: number;
  /** From the first upload until the last document is ready (searchable). */
  ms: number;
  calls: number;
  /** Embedding calls the provider may be given at once (the per-provider cap), whatever Quire manages to keep in flight. */
  parallel: number;
  maxInFlight: number;
  peakRssMb: number;
  /** With --statements: the database statements that took the most time until the last document was ready. */
  statements?: string[];
  graph?: { state: string; vectors: number; threshold: number; moved: number; ms: number; queryP50ReadyMs: number; queryP50AfterMs: number };
}

/** Counts the provider calls in flight at once. */
function countingInFlight(models: GatewayModels): { models: GatewayModels; max: () => number } {
  let now = 0;
  let max = 0;
  return {
    max: () => max,
    models: {
      ...models,
      embeddingModel(name, context) {
        const model = models.embeddingModel(name, context);
        return {
          ...model,
          async doEmbed(options) {
            max = Math.max(max, ++now);
            try {
              return await model.doEmbed(options);
            } finally {
              now--;
            }
          },
        };
      },
    },
  };
}

export async function runE2e(
  corpus: Uint8Array[],
  options: { latencyMs: number; dimensions: number; waitForGraphs: boolean; statements?: boolean; memory?: boolean; databaseUrl?: string | undefined },
): Promise<E2eResult> {
  const limits = DEFAULT_LIMITS;
  // On disk, as the embedded mode runs (an in-memory PGlite keeps every table in the process's RSS); or a
  // fresh database on a PostgreSQL server, as docker-compose runs it.
  const dataDir = options.memory || options.databaseUrl ? null : mkdtempSync(path.join(os.tmpdir(), 'quire-ingest-db-'));
  const raw = options.databaseUrl ? await openPostgresTestDatabase(options.databaseUrl) : dataDir ? await openDatabase({ dataDir }) : await openTestDatabase();
  const timings: StatementTimings = new Map();
  const db = options.statements ? timedDb(raw, timings) : raw;
  const fake = createFakeGatewayModels({ dimensions: options.dimensions, maxEmbeddingsPerCall: 96, latencyMs: options.latencyMs });
  const counted = countingInFlight(fake.models);
  const service = await createIngestionService({ db, models: counted.models, logger: createLogger({ bench: 'ingest' }, 'error'), internalSecret: TEST_SECRET, limits: { reconcileIntervalMs: 3_600_000 } });
  await service.start();
  const server = await listen(service.app, 0);
  const api = client(server.url);
  const coll = await api.createCollection({ name: 'Bench', embedding_model: 'openai/bench', chunking: CHUNKING });
  const t = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < corpus.length; i += 10) {
    const r = await api.upload(coll.id, corpus.slice(i, i + 10).map((bytes, k) => ({ name: `doc-${i + k}.pdf`, bytes })));
    ids.push(...r.body.documents.map((d: { id: string }) => d.id));
  }
  // One cheap request per poll: polling each document in turn made the measured time depend on the
  // polling itself (each request waits for whatever statement the database is running).
  for (;;) {
    const counts = (await api.call(`/v1/collections/${coll.id}`)).body.document_counts as { ready: number; failed: number };
    if (counts.failed > 0) throw new Error(`${counts.failed} document(s) failed`);
    if (counts.ready === ids.length) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const ms = performance.now() - t;
  const totals = await raw.query<{ chunks: number; pages: number }>(
    `SELECT COALESCE(sum(chunks_total), 0)::int AS chunks, COALESCE(sum(pages_total), 0)::int AS pages FROM documents WHERE collection_id = $1`,
    [coll.id],
  );
  const { chunks, pages } = totals.rows[0]!;
  const result: E2eResult = {
    pages,
    chunks,
    ms,
    calls: fake.calls.length,
    parallel: limits.embedConcurrencyPerProvider,
    maxInFlight: counted.max(),
    peakRssMb: 0,
    ...(options.statements ? { statements: topStatements(timings, chunks, 'chunk') } : {}),
  };

  if (options.waitForGraphs) {
    const v = await raw.query<{ id: string; vectors: number; pending: number }>(
      `SELECT iv.id,
              (SELECT count(*)::int FROM chunk_vectors cv WHERE cv.index_version_id = iv.id) AS vectors,
              (SELECT count(*)::int FROM chunk_vectors cv WHERE cv.index_version_id = iv.id AND cv.graph_pending) AS pending
         FROM collections c JOIN index_versions iv ON iv.id = c.current_index_version_id WHERE c.id = $1`,
      [coll.id],
    );
    const version = v.rows[0]!;
    const stateOf = async () => (await raw.query<{ hnsw_state: string }>(`SELECT hnsw_state FROM index_versions WHERE id = $1`, [version.id])).rows[0]!.hnsw_state;
    const probes = fake.calls.slice(0, 25).map((c) => fake.embed(c.values[0]!, options.dimensions));
    // What a vector query costs as retrieval runs it (the pending tail searched exactly beside the graph).
    const queryP50 = async () => {
      const state = await stateOf();
      const times: number[] = [];
      for (const embedding of probes) {
        const q = performance.now();
        await vectorSearch(raw, { collectionId: coll.id, indexVersionId: version.id, dimensions: options.dimensions, embedding, limit: 40, pendingTail: state === 'graph' });
        times.push(performance.now() - q);
      }
      return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    };
    const queryP50ReadyMs = await queryP50();
    const g = performance.now();
    await service.vectorGraphsIdle();
    const graphMs = performance.now() - g;
    result.graph = {
      state: await stateOf(),
      vectors: version.vectors,
      threshold: graphThreshold(limits.hnswMinVectors, options.dimensions),
      moved: version.pending,
      ms: graphMs,
      queryP50ReadyMs,
      queryP50AfterMs: await queryP50(),
    };
  }
  await server.close();
  await service.stop();
  await raw.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  result.peakRssMb = peakRssMb();
  return result;
}
