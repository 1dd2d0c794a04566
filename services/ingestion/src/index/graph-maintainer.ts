import type { Db } from '@quire/db';
import { countVersionVectors, graphThreshold, HNSW_MAX_DIMENSIONS, moveIntoGraph, startVersionGraph, type HnswState } from '@quire/index-versions';
import type { Logger } from '@quire/server-kit';
import { createSerialWork } from './serial-work.js';

export interface GraphMaintainerDeps {
  db: Db;
  logger: Logger;
  /** A version gets its graph from this many vectors (at 256 dimensions; see `graphThreshold`). */
  minVectors: number;
  /** Target time one slice holds the database connection. */
  sliceMs: number;
  /** True while ingestion jobs run: slices then leave the connection free nine tenths of the time. */
  busy?: () => boolean;
}

const FIRST_SLICE = 16;
const MAX_SLICE = 2000;

/**
 * Builds index versions' HNSW graphs in the background (see `vector-graph.ts` in @quire/index-versions).
 * Writers tell it which versions got vectors; it counts an `exact` version's vectors (only once the
 * running estimate reaches the threshold), gives it a graph once it is large enough, and moves a
 * `graph` version's pending vectors in, in slices of about `sliceMs` each. Everything it does is
 * recorded in the database, so a restart resumes from `resume()`, and several processes may run
 * one each (a slice only moves rows still pending).
 */
export function createGraphMaintainer(deps: GraphMaintainerDeps) {
  const log = deps.logger.child({ component: 'vector-graphs' });
  /** Vectors counted at the last look plus those reported since; at least the true count's upper bound. */
  const estimates = new Map<string, { counted: number; added: number }>();
  const sliceSize = new Map<string, number>();
  let sleeping: { timer: NodeJS.Timeout; wake: () => void } | null = null;
  /** Vectors written since the planner statistics were last refreshed, and the table's size then. */
  let writtenSinceAnalyze = 0;
  let rowsAtAnalyze = 0;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return void setImmediate(resolve);
      sleeping = { timer: setTimeout(() => ((sleeping = null), resolve()), ms), wake: resolve };
    });

  const work = createSerialWork({
    run: step,
    failed(id, error) {
      // The next write to the version (or the next start) tries again.
      if (!work.stopped) log.warn('vector graph step failed', { index_version_id: id, err: String(error) });
    },
    async drained() {
      if (writtenSinceAnalyze >= Math.max(1000, rowsAtAnalyze / 2)) await refreshStatistics().catch(() => undefined);
    },
  });

  /**
   * PGlite runs no autovacuum, so nothing else refreshes planner statistics, and with the counts of
   * an empty collection the planner joins every chunk of a large one instead of walking its graph
   * (150 ms instead of 3 for 11,000 vectors). Done when a graph is complete and, like autoanalyze,
   * when the vectors have grown by half since the last time.
   */
  async function refreshStatistics(): Promise<void> {
    const t = performance.now();
    writtenSinceAnalyze = 0;
    await deps.db.query('ANALYZE chunk_vectors, chunks, documents, bm25_postings');
    const r = await deps.db.query<{ n: number }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'chunk_vectors'`);
    rowsAtAnalyze = Math.max(0, Number(r.rows[0]?.n ?? 0));
    log.info('planner statistics refreshed', { analyze_ms: Math.round(performance.now() - t), vectors: rowsAtAnalyze });
  }

  /** Looks at one version: starts its graph when due, then moves pending vectors until none are left or another version waits. */
  async function step(id: string): Promise<void> {
    const v = await deps.db.query<{ hnsw_state: HnswState; dimensions: number | null }>(`SELECT hnsw_state, dimensions FROM index_versions WHERE id = $1`, [id]);
    const row = v.rows[0];
    if (!row || row.hnsw_state === 'inline') return void estimates.delete(id);
    if (row.hnsw_state === 'exact') {
      const dims = row.dimensions === null ? null : Number(row.dimensions);
      if (dims === null || dims > HNSW_MAX_DIMENSIONS) return;
      const threshold = graphThreshold(deps.minVectors, dims);
      let e = estimates.get(id);
      if (!e || e.counted + e.added >= threshold) {
        e = { counted: await countVersionVectors(deps.db, id, threshold), added: 0 };
        estimates.set(id, e);
      }
      if (e.counted < threshold) return;
      const started = await deps.db.transaction((tx) => startVersionGraph(tx, id));
      if (started === 'started') log.info('vector graph started', { index_version_id: id, vectors: e.counted });
      if (started === 'no_graph_possible') return;
    }
    estimates.delete(id);
    let size = sliceSize.get(id) ?? FIRST_SLICE;
    while (!work.stopped) {
      const t = performance.now();
      const moved = await deps.db.transaction((tx) => moveIntoGraph(tx, id, size));
      const ms = performance.now() - t;
      if (moved === 0) {
        if (sliceSize.has(id)) await refreshStatistics();
        sliceSize.delete(id);
        return;
      }
      // Slices grow or shrink toward sliceMs: graph inserts get dearer as the graph grows.
      if (moved === size) size = Math.min(MAX_SLICE, Math.max(1, Math.round(size * Math.min(2, deps.sliceMs / Math.max(ms, 1)))));
      sliceSize.set(id, size);
      await pause(deps.busy?.() ? ms * 9 : 0);
      if (work.waiting > 0) {
        // Other versions take turns; this one comes back.
        work.add(id);
        return;
      }
    }
  }

  return {
    /** A version got `added` vectors (undefined: an unknown number, so it is counted again). */
    notify(indexVersionId: string, added?: number): void {
      if (work.stopped) return;
      writtenSinceAnalyze += added ?? 0;
      const e = estimates.get(indexVersionId);
      if (e && added !== undefined) e.added += added;
      else if (e) estimates.delete(indexVersionId);
      work.add(indexVersionId);
    },
    /** Picks up versions a previous process left with pending vectors or without the graph they need. */
    async resume(): Promise<void> {
      const r = await deps.db.query<{ id: string }>(
        `SELECT iv.id FROM index_versions iv
          WHERE (iv.hnsw_state = 'exact' AND iv.dimensions IS NOT NULL AND iv.dimensions <= ${HNSW_MAX_DIMENSIONS})
             OR (iv.hnsw_state = 'graph' AND EXISTS (SELECT 1 FROM chunk_vectors cv WHERE cv.index_version_id = iv.id AND cv.graph_pending))`,
      );
      for (const row of r.rows) this.notify(row.id);
    },
    /** Resolves once every version it was told about is done (nothing to build or move). */
    idle: () => work.idle(),
    async stop(): Promise<void> {
      // Stopped first (synchronously), so that a slice's pause woken below ends the run.
      const stopping = work.stop();
      if (sleeping) {
        clearTimeout(sleeping.timer);
        sleeping.wake();
        sleeping = null;
      }
      await stopping;
    },
  };
}
export type GraphMaintainer = ReturnType<typeof createGraphMaintainer>;
