import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { ChunkingSchema, sameChunking } from '@quire/contracts';
import type { Db } from '@quire/db';
import type { GatewayModels } from '@quire/gateway-client';
import { signIdentity, type Logger } from '@quire/server-kit';
import { embedChunks } from '../embed/embed-chunks.js';
import type { ProviderLimiter } from '../embed/provider-semaphore.js';
import { EmbeddingValidationError } from '../embed/embed-chunks.js';
import { embeddingInput } from '../embed/embedding-input.js';
import { prepareVersionWrite, vectorLiterals, type GraphWritePolicy } from '../index/index-chunks.js';
import { activateVersion, getVersion } from './index-versions-repo.js';
import type { ParsePool } from '../parse/parse-pool.js';
import { rechunkRound } from './rechunk-round.js';
import { acquireBuildLease, BuildLeaseLostError, lockBuildRound, findUnheldBuilds, releaseBuildLease, renewBuildLease } from './build-lease.js';
import { keepBuildLeaseAlive } from './build-lease-heartbeat.js';

export interface BuilderDeps {
  db: Db;
  models: GatewayModels;
  logger: Logger;
  internalSecret: string;
  limiter: ProviderLimiter;
  batchCap: number;
  /** Estimated tokens per embedding call (`limits.embedBatchMaxTokens`); embedChunks' default when absent. */
  batchMaxTokens?: number;
  /** Chunks read and embedded per round. */
  roundSize?: number;
  maxRetries?: number;
  /** Builds that change chunking re-parse stored bytes through the service's parse pool. */
  parsePool?: ParsePool;
  maxChunks?: number;
  graph?: GraphWritePolicy;
  /** Told about every round's vectors, so the version's graph is built once it is large enough. */
  graphs?: { notify(indexVersionId: string, added?: number): void };
  /** Names this process on the versions it builds (default: host, pid and a random suffix). */
  holderId?: string;
  /**
   * A build renews its lease on a timer (a third of this) while its process works on it, and at
   * every round and embedding batch; one not renewed for this long has stalled (its process died or
   * its event loop hangs) and any live process resumes it. Default 10 minutes.
   */
  leaseMs?: number;
  /**
   * The longest one embedding call may take before the build gives up on it (a retryable
   * `provider_timeout` for the round). The heartbeat keeps the lease while a call is in flight, so
   * this, not the lease, is what ends a call that hangs. Default `DEFAULT_LIMITS.embedCallTimeoutMs`.
   */
  callTimeoutMs?: number;
  /** How often to look for builds nobody holds (stalled or released); 0: only when `resume()` is called. Default 60 s. */
  sweepIntervalMs?: number;
}

/**
 * Builds index versions in the background: re-embeds the collection's stored chunks (no re-parsing)
 * through the gateway, with the embedding cache, until every visible chunk has a vector in the
 * version; then marks it ready (and activates it when asked). Rounds pick "chunks still missing a
 * vector", so documents indexed or replaced during the build are caught up, and whichever process
 * resumes a build starts where the last one stopped. A lease (build-lease.ts), renewed on a timer
 * while its process works (build-lease-heartbeat.ts), lets one process build a version at a time, so
 * no chunk is embedded, and billed, twice; periodic sweeps resume builds whose holder stopped
 * renewing it, and the version records that it stalled and who resumed it.
 */
export function createIndexVersionBuilder(deps: BuilderDeps) {
  const running = new Map<string, Promise<void>>();
  const holder = deps.holderId ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = deps.leaseMs ?? 10 * 60_000;
  const sweepIntervalMs = deps.sweepIntervalMs ?? 60_000;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  const build = async (collectionId: string, versionId: string): Promise<void> => {
    const log = deps.logger.child({ collection_id: collectionId, index_version_id: versionId, builder: holder });
    const lease = await acquireBuildLease(deps.db, versionId, holder, leaseMs);
    if (!lease) return; // another process holds a live lease, or the build has ended
    if (lease.stallReason) log.info('building index version', { resumes: lease.resumes, last_stall: lease.stallReason });
    const heartbeat = keepBuildLeaseAlive(deps.db, versionId, holder, leaseMs, (error) => log.warn('could not renew the build lease', { err: String(error) }));
    try {
      await rounds(collectionId, versionId, log, heartbeat.signal);
    } finally {
      await heartbeat.stop();
      await releaseBuildLease(deps.db, versionId, holder).catch((error: unknown) => log.warn('could not release the build lease', { err: String(error) }));
    }
  };

  /** Renews at each round and batch too: a lease passed to another holder stops the build before its next call, not a heartbeat later. */
  const renew = async (versionId: string): Promise<void> => {
    if (!(await renewBuildLease(deps.db, versionId, holder, leaseMs))) throw new BuildLeaseLostError(`The lease on index version ${versionId} is no longer ${holder}'s.`);
  };

  /** `leaseLost` cancels the embedding call in flight once the heartbeat finds the lease gone. */
  const rounds = async (collectionId: string, versionId: string, log: ReturnType<Logger['child']>, leaseLost: AbortSignal): Promise<void> => {
    let failures = 0;
    for (;;) {
      if (stopped) return;
      const version = await getVersion(deps.db, collectionId, versionId);
      if (!version || version.status !== 'building' || !version.embedding_model) return;
      try {
        await renew(versionId);
      } catch (error) {
        if (await roundFailed(error)) return;
        continue;
      }
      const embeddingModel = version.embedding_model;
      const identity = version.identity ?? { team_id: 'system', key_id: 'index-builder', role: 'service' as const, groups: [] };
      // The switch an admin asked for when creating the version, recorded in their name.
      const onReady = { actor: identity, requestId: `index_version_${versionId.replace(/-/g, '')}`, trigger: 'on_ready' as const };
      const embedTexts = (texts: string[], hashes: string[], documentId?: string) =>
        embedChunks({
          models: deps.models,
          modelName: embeddingModel,
          texts,
          hashes,
          // Billed to the version's creator, whose team's cache it reads and fills. A re-chunked
          // document's uses are recorded (its new chunks are written after); stored chunks need none.
          cache: { db: deps.db, teamId: identity.team_id, ...(documentId ? { documentId } : {}) },
          limiter: deps.limiter,
          context: () => ({
            identityToken: signIdentity(identity, deps.internalSecret),
            traceId: `index_version_${versionId.replace(/-/g, '')}`,
            purpose: 'ingest-embed',
            collectionId,
          }),
          expectedDimensions: version.dimensions ?? version.requestedDimensions,
          // A `dimensions` override is asked of the model (text-embedding-3 style shortening).
          ...(version.requestedDimensions ? { requestDimensions: version.requestedDimensions } : {}),
          batchCap: deps.batchCap,
          ...(deps.batchMaxTokens ? { batchMaxTokens: deps.batchMaxTokens } : {}),
          signal: leaseLost,
          ...(deps.callTimeoutMs ? { callTimeoutMs: deps.callTimeoutMs } : {}),
          onBatch: () => renew(versionId),
        });
      const current = await deps.db.query<{ chunking: unknown }>(`SELECT chunking FROM collections WHERE id = $1`, [collectionId]);
      const rechunk = !!version.chunking && !!current.rows[0] && !sameChunking(version.chunking, ChunkingSchema.parse(current.rows[0].chunking));
      if (rechunk) {
        if (!deps.parsePool) throw new Error('Index versions that change chunking need the parse pool.');
        try {
          const pending = await rechunkRound(
            { db: deps.db, parsePool: deps.parsePool, maxChunks: deps.maxChunks ?? 50_000, ...(deps.graph ? { graph: deps.graph } : {}) },
            { collectionId, versionId, holder, chunking: version.chunking!, embed: embedTexts, documents: Math.max(1, Math.floor((deps.roundSize ?? 512) / 64)) },
          );
          failures = 0;
          if (pending > 0) {
            deps.graphs?.notify(versionId);
            continue;
          }
          const done = await deps.db.query(`UPDATE index_versions SET status = 'ready', updated_at = now() WHERE id = $1 AND status = 'building' AND build_holder = $2 RETURNING id`, [
            versionId,
            holder,
          ]);
          if (done.rows.length === 0) continue; // the next round's checks say why (lease lost, deleted)
          log.info('index version built (re-chunked)');
          if (version.activate === 'on_ready' && (await activateVersion(deps.db, collectionId, versionId, onReady)) === 'incomplete') continue;
          return;
        } catch (error) {
          if (await roundFailed(error)) return;
          continue;
        }
      }
      const batch = await deps.db.query<{ id: string; text: string; context: string | null; content_sha256: string }>(
        `SELECT ch.id, ch.text, ch.context, ch.content_sha256 FROM chunks ch
          WHERE ch.collection_id = $1 AND ch.index_version_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM chunk_vectors cv WHERE cv.chunk_id = ch.id AND cv.index_version_id = $2)
          ORDER BY ch.document_id, ch.ordinal LIMIT $3`,
        [collectionId, versionId, deps.roundSize ?? 512],
      );
      try {
        if (batch.rows.length === 0) {
          const done = await deps.db.query(
            `UPDATE index_versions SET status = 'ready', updated_at = now(),
                    chunks_total = (SELECT count(*)::int FROM chunks WHERE collection_id = $2 AND index_version_id IS NULL),
                    chunks_embedded = (SELECT count(*)::int FROM chunk_vectors WHERE index_version_id = $1)
              WHERE id = $1 AND status = 'building' AND build_holder = $3 RETURNING id`,
            [versionId, collectionId, holder],
          );
          if (done.rows.length === 0) continue; // the next round's checks say why (lease lost, deleted)
          log.info('index version built');
          if (version.activate === 'on_ready' && (await activateVersion(deps.db, collectionId, versionId, onReady)) === 'incomplete') continue;
          return;
        }
        // The input ingestion embedded (context and text), keyed as ingestion keyed it: the hash stored with the chunk.
        const result = await embedTexts(
          batch.rows.map(embeddingInput),
          batch.rows.map((r) => r.content_sha256),
        );
        await deps.db.transaction(async (tx) => {
          await lockBuildRound(tx, collectionId, versionId, holder);
          const { pending } = await prepareVersionWrite(tx, versionId, result.dimensions, deps.graph);
          // Chunks deleted meanwhile drop out through the join.
          await tx.query(
            `INSERT INTO chunk_vectors (chunk_id, index_version_id, embedding, graph_pending)
             SELECT ch.id, $1, u.e::vector, $4 FROM unnest($2::uuid[], $3::text[]) AS u(id, e) JOIN chunks ch ON ch.id = u.id
             ON CONFLICT DO NOTHING`,
            [versionId, batch.rows.map((r) => r.id), vectorLiterals(result.vectors), pending],
          );
          await tx.query(
            `UPDATE index_versions SET updated_at = now(),
                    chunks_total = (SELECT count(*)::int FROM chunks WHERE collection_id = $2 AND index_version_id IS NULL),
                    chunks_embedded = (SELECT count(*)::int FROM chunk_vectors WHERE index_version_id = $1)
              WHERE id = $1`,
            [versionId, collectionId],
          );
        });
        failures = 0;
        deps.graphs?.notify(versionId, batch.rows.length);
      } catch (error) {
        if (await roundFailed(error)) return;
      }
    }

    /** Counts a failed round; true when the build is given up (marked failed), after a backoff otherwise. */
    async function roundFailed(error: unknown): Promise<boolean> {
      if (error instanceof BuildLeaseLostError) {
        log.warn('index version build stopped: another builder holds its lease now', { err: error.message });
        return true;
      }
      failures++;
      const fatal = error instanceof EmbeddingValidationError || failures > (deps.maxRetries ?? 5);
      log.warn('index version round failed', { err: String(error), failures, fatal });
      if (fatal) {
        await deps.db.query(`UPDATE index_versions SET status = 'failed', error_message = $2, updated_at = now() WHERE id = $1 AND status = 'building' AND build_holder = $3`, [
          versionId,
          (error as Error)?.message ?? String(error),
          holder,
        ]);
        return true;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 200 * 2 ** failures)));
      return false;
    }
  };

  const start = (collectionId: string, versionId: string): Promise<void> => {
    let p = running.get(versionId);
    if (!p) {
      p = build(collectionId, versionId)
        .catch((error: unknown) => deps.logger.error('index version build crashed', { index_version_id: versionId, err: String(error) }))
        .finally(() => running.delete(versionId));
      running.set(versionId, p);
    }
    return p;
  };

  /** Starts every build nobody holds a live lease on; returns how many it found. */
  const sweep = async (): Promise<number> => {
    const unheld = await findUnheldBuilds(deps.db);
    for (const v of unheld) if (!running.has(v.id)) void start(v.collectionId, v.id);
    return unheld.length;
  };

  return {
    /** Starts (or joins) the build of one version; returns at once when another process holds its lease. */
    start,
    /** One sweep now (tests and operators). */
    sweep,
    /** Resumes builds nobody is working on, now and then every `sweepIntervalMs`. */
    async resume(): Promise<void> {
      stopped = false;
      await sweep();
      if (sweepIntervalMs > 0 && !timer) {
        timer = setInterval(() => {
          if (!stopped) sweep().catch((error: unknown) => deps.logger.warn('index version sweep failed', { err: String(error) }));
        }, sweepIntervalMs);
        timer.unref();
      }
    },
    /** Stops sweeping and waits for running builds to end their round; their leases are released. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await Promise.allSettled([...running.values()]);
    },
  };
}
export type IndexVersionBuilder = ReturnType<typeof createIndexVersionBuilder>;
