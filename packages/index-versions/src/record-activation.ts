import type { Queryable } from '@quire/db';

/**
 * How a collection came to switch index versions. `promote`: through the promotion gate (retrieval's
 * `POST .../promote`), passed or forced by an admin; `activate`: an admin's direct switch
 * (ingestion's `POST .../activate`); `on_ready`: a version an admin created with `activate: "on_ready"`,
 * switched when its build completed. The last two skip the gate, so they are recorded as forced.
 */
export type ActivationTrigger = 'promote' | 'activate' | 'on_ready';

export interface PromotionDecision {
  collectionId: string;
  indexVersionId: string;
  previousIndexVersionId: string | null;
  /** `promoted`: the gate's evidence allowed it; `forced`: an admin skipped or overrode the gate; `refused`: the gate said no. */
  outcome: 'promoted' | 'forced' | 'refused';
  actor: { team_id: string; key_id: string };
  benchmarkId?: string | null;
  evidence?: unknown;
}

/** A row of the collection's promotion history (`index_version_promotions`); refusals are kept too. */
export async function recordPromotionDecision(q: Queryable, d: PromotionDecision): Promise<void> {
  await q.query(
    `INSERT INTO index_version_promotions (collection_id, index_version_id, previous_index_version_id, benchmark_id, outcome, evidence, team_id, key_id)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)`,
    [d.collectionId, d.indexVersionId, d.previousIndexVersionId, d.benchmarkId ?? null, d.outcome, d.evidence === undefined ? null : JSON.stringify(d.evidence), d.actor.team_id, d.actor.key_id],
  );
}

export interface ActivationRecord extends PromotionDecision {
  outcome: 'promoted' | 'forced';
  trigger: ActivationTrigger;
  requestId: string | null;
}

/**
 * Records a switch inside the transaction that made it: a row in `index_version_promotions` (the
 * collection's history of versions) and one in the governance `audit_log`, which says whether the
 * gate was passed or skipped, and by whom. Call it as the transaction's last step: the audit INSERT
 * waits on the audit log's ordering lock (migrations/0020_audit_log_order.sql).
 */
export async function recordActivation(tx: Queryable, r: ActivationRecord): Promise<void> {
  await recordPromotionDecision(tx, r);
  await tx.query(
    `INSERT INTO audit_log (request_id, actor_key_id, actor_team_id, action, outcome, code, target_type, target_id, before, after, details)
     VALUES ($1, $2, $3, $4, 'ok', $5, 'collection', $6, $7::jsonb, $8::jsonb, $9::jsonb)`,
    [
      r.requestId,
      r.actor.key_id,
      r.actor.team_id,
      r.trigger === 'promote' ? 'index_version.promote' : 'index_version.activate',
      r.outcome,
      r.collectionId,
      JSON.stringify({ current_index_version_id: r.previousIndexVersionId }),
      JSON.stringify({ current_index_version_id: r.indexVersionId }),
      JSON.stringify({ forced: r.outcome === 'forced', trigger: r.trigger, evidence: r.evidence ?? null }),
    ],
  );
}
