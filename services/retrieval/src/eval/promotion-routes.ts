import type { Router } from 'express';
import { z } from 'zod';
import { UuidSchema } from '@quire/contracts';
import type { Db } from '@quire/db';
import { AppError, ctx, handle, paramsOf, parseWith, exactRouter } from '@quire/server-kit';
import { collectionNotFound, loadCollection, ownerReach } from '../collections/collection-repository.js';
import { PromoteSchema, QualityQuerySchema } from './eval-schemas.js';
import { requireWriter } from './eval-routes.js';
import { activateIndexVersion, lockCollectionForVersionChange, recordActivation, recordPromotionDecision } from '@quire/index-versions';
import { promotionEvidence, qualityByDay } from './promotion.js';

const IdParams = z.object({ id: UuidSchema });
const VersionParams = z.object({ vid: UuidSchema });
const versionNotFound = (vid: string) => new AppError('not_found', `No index version ${vid}.`);

export function promotionRoutes(db: Db): Router {
  const router = exactRouter();

  /**
   * Activates an index version only when a benchmark shows it is not worse than the current one
   * (rule in promotion.ts and README "Evaluation"); otherwise 409 with the numbers. An admin may
   * force it: recorded in `index_version_promotions` and in the governance `audit_log`.
   */
  router.post(
    '/v1/collections/:id/index-versions/:vid/promote',
    handle(async (req, res) => {
      const identity = requireWriter(res);
      const body = parseWith(PromoteSchema, req.body);
      if (body.force && identity.role !== 'admin') throw new AppError('permission_denied', 'Only admins may force a promotion.', { param: 'force' });
      // The owning team's writers, or an organisation admin for any team's collection.
      const collection = await loadCollection(db, identity.team_id, paramsOf(req, IdParams, { id: collectionNotFound }).id, ownerReach(identity));
      const { vid } = paramsOf(req, VersionParams, { vid: versionNotFound });
      if (vid === collection.indexVersionId) throw new AppError('conflict', 'This index version is already the current one.');
      const evidence = await promotionEvidence(db, { teamId: collection.teamId, collectionId: collection.id, current: collection.indexVersionId, candidate: vid, margin: body.margin, ...(body.benchmark_id ? { benchmarkId: body.benchmark_id } : {}) });
      const allowed = evidence?.allowed ?? false;
      if (!allowed && !body.force) {
        await recordPromotionDecision(db, { collectionId: collection.id, indexVersionId: vid, previousIndexVersionId: collection.indexVersionId, outcome: 'refused', actor: identity, benchmarkId: evidence?.benchmark_id ?? null, evidence });
        const d = evidence?.comparison.diff;
        const message = evidence?.candidate_errors
          ? `Not promoted: ${evidence.reason}. Admins may pass force: true.`
          : evidence
          ? `Not promoted: nDCG@10 new - current = ${d!.mean.toFixed(4)} (95% CI ${d!.lower.toFixed(4)} to ${d!.upper.toFixed(4)}, n = ${evidence.comparison.n}); the lower bound is below -${body.margin}. Admins may pass force: true.`
          : 'Not promoted: no completed benchmark on this collection ran both the current and this index version in two configurations that differ in nothing else (mode, top_k, rerank, ...). Run one (configurations with index_version_id), or an admin may pass force: true.';
        throw new AppError('conflict', message, { exposed: { evidence } });
      }
      const outcome = await db.transaction(async (tx) => {
        // The evidence compared the candidate with the version current when it was read. Another
        // promotion or activation since then makes that comparison (and the recorded previous version)
        // stale: refuse rather than promote against a version that is no longer current.
        await lockCollectionForVersionChange(tx, collection.id);
        const now = await tx.query<{ current_index_version_id: string | null }>(`SELECT current_index_version_id FROM collections WHERE id = $1 FOR NO KEY UPDATE`, [collection.id]);
        if (now.rows[0]?.current_index_version_id !== collection.indexVersionId) return 'changed' as const;
        const result = await activateIndexVersion(tx, collection.id, vid);
        if (result !== 'activated') return result;
        await recordActivation(tx, {
          collectionId: collection.id,
          indexVersionId: vid,
          previousIndexVersionId: collection.indexVersionId,
          outcome: allowed ? 'promoted' : 'forced',
          trigger: 'promote',
          actor: identity,
          requestId: ctx(res).traceId,
          benchmarkId: evidence?.benchmark_id ?? null,
          evidence,
        });
        return result;
      });
      if (outcome === 'changed') throw new AppError('conflict', 'The collection switched index versions while this promotion was being checked (another promotion or activation). Check again against the version now current.');
      if (outcome === 'missing') throw versionNotFound(vid);
      if (outcome === 'not_ready') throw new AppError('conflict', 'The index version is not built yet.');
      if (outcome === 'incomplete') throw new AppError('conflict', 'The index version lacks vectors for chunks indexed since it was built; ingestion resumes its build within a minute. Watch its progress and promote again when it is ready.');
      res.json({ object: 'index_version_promotion', collection_id: collection.id, index_version_id: vid, previous_index_version_id: collection.indexVersionId, forced: !allowed, evidence });
    }),
  );

  router.get(
    '/v1/collections/:id/quality',
    handle(async (req, res) => {
      const q = parseWith(QualityQuerySchema, req.query, 'query');
      const { identity } = ctx(res);
      const collection = await loadCollection(db, identity.team_id, paramsOf(req, IdParams, { id: collectionNotFound }).id, ownerReach(identity));
      const to = q.to ?? new Date().toISOString();
      const from = q.from ?? new Date(Date.parse(to) - 30 * 86_400_000).toISOString();
      res.json({ object: 'collection_quality', collection_id: collection.id, from, to, days: await qualityByDay(db, collection.id, collection.teamId, from, to) });
    }),
  );
  return router;
}
