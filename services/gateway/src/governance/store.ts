import type { Db, Queryable } from '@quire/db';
import type { Identity } from '@quire/contracts';

export type Role = Identity['role'];

export interface TeamRow {
  id: string;
  name: string;
  allowed_models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  created_at: string;
  updated_at: string;
}

export interface KeyRow {
  id: string;
  team_id: string;
  name: string;
  role: Role;
  groups: string[];
  allowed_models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_valid_until: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** The alerts claimed in `budget_alerts`, one per budget, period and kind (see BudgetAlerts). */
export type BudgetAlertKind = 'soft_threshold' | 'exhausted';

export interface BudgetRow {
  id: string;
  scope: 'team' | 'key';
  scope_id: string;
  period: 'day' | 'month';
  limit_usd: string;
  soft_fraction: string;
  alert_webhook: string | null;
  updated_by: string;
  created_at: string;
  updated_at: string;
}

export interface GrantRow {
  collection_id: string;
  team_id: string;
  access: 'read' | 'write';
  granted_by: string;
  created_at: string;
}

const TS = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${c}`;
const TEAM_COLS = `id, name, allowed_models, rpm, tpm, ${TS('created_at')}, ${TS('updated_at')}`;
const KEY_COLS = `id, team_id, name, role, groups, allowed_models, rpm, tpm, secret_hash, previous_secret_hash, ${TS('previous_valid_until')},
  ${TS('expires_at')}, ${TS('revoked_at')}, created_by, ${TS('created_at')}, ${TS('updated_at')}`;
const BUDGET_COLS = `id, scope, scope_id, period, limit_usd::text AS limit_usd, soft_fraction::text AS soft_fraction, alert_webhook, updated_by,
  ${TS('created_at')}, ${TS('updated_at')}`;
const GRANT_COLS = `collection_id::text AS collection_id, team_id, access, granted_by, ${TS('created_at')}`;

/** A page of rows ordered by id; the cursor is the last id seen (opaque to callers). */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
export const decodeCursor = (cursor: string | undefined) => (cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : null);

function page<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit);
  return { data, next_cursor: rows.length > limit ? encodeCursor(data[data.length - 1]!.id) : null };
}

/** Plain SQL over the governance tables (0006); no caching here. */
export class GovernanceStore {
  constructor(readonly db: Db) {}

  /** `lock`: FOR UPDATE, for a change that reads the row it writes (inside the caller's transaction `q`). */
  async team(id: string, q: Queryable = this.db, lock = false): Promise<TeamRow | null> {
    return (await q.query<TeamRow>(`SELECT ${TEAM_COLS} FROM teams WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id])).rows[0] ?? null;
  }

  async teams(limit: number, cursor: string | null): Promise<Page<TeamRow>> {
    const r = await this.db.query<TeamRow>(`SELECT ${TEAM_COLS} FROM teams WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2`, [cursor, limit + 1]);
    return page(r.rows, limit);
  }

  async insertTeam(t: { id: string; name: string; allowed_models: string[] | null; rpm: number | null; tpm: number | null }, q: Queryable = this.db): Promise<TeamRow | null> {
    const r = await q.query<TeamRow>(
      `INSERT INTO teams (id, name, allowed_models, rpm, tpm) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING ${TEAM_COLS}`,
      [t.id, t.name, t.allowed_models, t.rpm, t.tpm],
    );
    return r.rows[0] ?? null;
  }

  async updateTeam(id: string, patch: Partial<Pick<TeamRow, 'name' | 'allowed_models' | 'rpm' | 'tpm'>>, q: Queryable = this.db): Promise<TeamRow | null> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      params.push(v);
      sets.push(`${k} = $${params.length}`);
    }
    const r = await q.query<TeamRow>(`UPDATE teams SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${TEAM_COLS}`, params);
    return r.rows[0] ?? null;
  }

  async key(id: string, q: Queryable = this.db): Promise<KeyRow | null> {
    return (await q.query<KeyRow>(`SELECT ${KEY_COLS} FROM api_keys WHERE id = $1`, [id])).rows[0] ?? null;
  }

  /**
   * Runs `fn` on the key's row locked FOR UPDATE (null when there is none), in one transaction: a
   * change that reads the row to write it (rotation keeps the current secret as the previous one)
   * must not interleave with another change to the same key, or one caller's new secret is lost.
   */
  async withKeyLocked<T>(id: string, fn: (row: KeyRow | null, tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => fn((await tx.query<KeyRow>(`SELECT ${KEY_COLS} FROM api_keys WHERE id = $1 FOR UPDATE`, [id])).rows[0] ?? null, tx));
  }

  async keys(teamId: string | null, limit: number, cursor: string | null): Promise<Page<KeyRow>> {
    const r = await this.db.query<KeyRow>(
      `SELECT ${KEY_COLS} FROM api_keys WHERE ($1::text IS NULL OR team_id = $1) AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [teamId, cursor, limit + 1],
    );
    return page(r.rows, limit);
  }

  async insertKey(
    k: Pick<KeyRow, 'id' | 'team_id' | 'name' | 'role' | 'groups' | 'allowed_models' | 'rpm' | 'tpm' | 'secret_hash' | 'expires_at' | 'created_by'>,
    q: Queryable = this.db,
  ): Promise<KeyRow> {
    const r = await q.query<KeyRow>(
      `INSERT INTO api_keys (id, team_id, name, role, groups, allowed_models, rpm, tpm, secret_hash, expires_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::timestamptz, $11) RETURNING ${KEY_COLS}`,
      [k.id, k.team_id, k.name, k.role, k.groups, k.allowed_models, k.rpm, k.tpm, k.secret_hash, k.expires_at, k.created_by],
    );
    return r.rows[0]!;
  }

  async updateKey(id: string, patch: Record<string, unknown>, q: Queryable = this.db): Promise<KeyRow | null> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      params.push(v);
      const cast = k.endsWith('_at') || k.endsWith('_until') ? '::timestamptz' : '';
      sets.push(`${k} = $${params.length}${cast}`);
    }
    const r = await q.query<KeyRow>(`UPDATE api_keys SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${KEY_COLS}`, params);
    return r.rows[0] ?? null;
  }

  async budgetsFor(teamId: string, keyId: string): Promise<BudgetRow[]> {
    const r = await this.db.query<BudgetRow>(
      `SELECT ${BUDGET_COLS} FROM budgets WHERE (scope = 'team' AND scope_id = $1) OR (scope = 'key' AND scope_id = $2) ORDER BY id`,
      [teamId, keyId],
    );
    return r.rows;
  }

  async budgets(filter: { scope?: string; scope_id?: string }, limit: number, cursor: string | null): Promise<Page<BudgetRow>> {
    const r = await this.db.query<BudgetRow>(
      `SELECT ${BUDGET_COLS} FROM budgets WHERE ($1::text IS NULL OR scope = $1) AND ($2::text IS NULL OR scope_id = $2)
         AND ($3::text IS NULL OR id::text > $3) ORDER BY id::text LIMIT $4`,
      [filter.scope ?? null, filter.scope_id ?? null, cursor, limit + 1],
    );
    return page(r.rows, limit);
  }

  async budget(id: string): Promise<BudgetRow | null> {
    return (await this.db.query<BudgetRow>(`SELECT ${BUDGET_COLS} FROM budgets WHERE id::text = $1`, [id])).rows[0] ?? null;
  }

  /** The budget of one scope and period; `lock`: FOR UPDATE, inside the caller's transaction `q`. */
  async budgetOf(b: Pick<BudgetRow, 'scope' | 'scope_id' | 'period'>, q: Queryable = this.db, lock = false): Promise<BudgetRow | null> {
    const r = await q.query<BudgetRow>(
      `SELECT ${BUDGET_COLS} FROM budgets WHERE scope = $1 AND scope_id = $2 AND period = $3${lock ? ' FOR UPDATE' : ''}`,
      [b.scope, b.scope_id, b.period],
    );
    return r.rows[0] ?? null;
  }

  /**
   * Creates or replaces a budget. A change of its limit, soft fraction or webhook gives back its
   * alert claims (soft threshold and exhausted): the alert was about the old numbers, or went to a webhook that is being
   * replaced (often because it did not work), so it is sent again when the threshold is next crossed.
   */
  async upsertBudget(b: Pick<BudgetRow, 'scope' | 'scope_id' | 'period' | 'limit_usd' | 'soft_fraction' | 'alert_webhook' | 'updated_by'>, q: Queryable = this.db): Promise<BudgetRow> {
    // Every part of one statement sees the same snapshot: `old` is the row before the upsert.
    const r = await q.query<BudgetRow>(
      `WITH old AS (
         SELECT id, limit_usd, soft_fraction, alert_webhook FROM budgets WHERE scope = $1 AND scope_id = $2 AND period = $3
       ), up AS (
         INSERT INTO budgets (scope, scope_id, period, limit_usd, soft_fraction, alert_webhook, updated_by) VALUES ($1, $2, $3, $4::numeric, $5::numeric, $6, $7)
         ON CONFLICT (scope, scope_id, period) DO UPDATE SET limit_usd = EXCLUDED.limit_usd, soft_fraction = EXCLUDED.soft_fraction,
           alert_webhook = EXCLUDED.alert_webhook, updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING *
       ), reset AS (
         DELETE FROM budget_alerts a USING old, up
         WHERE a.budget_id = old.id AND (old.limit_usd, old.soft_fraction, old.alert_webhook) IS DISTINCT FROM (up.limit_usd, up.soft_fraction, up.alert_webhook)
       )
       SELECT ${BUDGET_COLS} FROM up`,
      [b.scope, b.scope_id, b.period, b.limit_usd, b.soft_fraction, b.alert_webhook, b.updated_by],
    );
    return r.rows[0]!;
  }

  async deleteBudget(id: string, q: Queryable = this.db): Promise<BudgetRow | null> {
    return (await q.query<BudgetRow>(`DELETE FROM budgets WHERE id::text = $1 RETURNING ${BUDGET_COLS}`, [id])).rows[0] ?? null;
  }

  /** Spend since `since` from the ledger (exact decimal string). */
  async spend(scope: 'team' | 'key', id: string, since: Date): Promise<string> {
    const column = scope === 'team' ? 'team_id' : 'key_id';
    const r = await this.db.query<{ s: string }>(
      `SELECT coalesce(sum(cost_usd), 0)::text AS s FROM usage_ledger WHERE ${column} = $1 AND created_at >= $2::timestamptz`,
      [id, since.toISOString()],
    );
    return r.rows[0]!.s;
  }

  /**
   * Claims an alert of this budget and period (one per budget, period and kind, across processes and
   * restarts: the row's insert decides who sends it): the claim's token the first time, null when it
   * is claimed already.
   */
  async claimAlert(budgetId: string, periodStart: Date, kind: BudgetAlertKind): Promise<string | null> {
    const r = await this.db.query<{ sent_at: string }>(
      `INSERT INTO budget_alerts (budget_id, period_start, kind) VALUES ($1::uuid, $2::timestamptz, $3) ON CONFLICT DO NOTHING RETURNING sent_at::text AS sent_at`,
      [budgetId, periodStart.toISOString(), kind],
    );
    return r.rows[0]?.sent_at ?? null;
  }

  /** Gives back a claim whose alert was not delivered; only that claim (`token`), not one made since by a budget change. */
  async unclaimAlert(budgetId: string, periodStart: Date, kind: BudgetAlertKind, token: string): Promise<void> {
    await this.db.query(
      `DELETE FROM budget_alerts WHERE budget_id = $1::uuid AND period_start = $2::timestamptz AND kind = $3 AND sent_at = $4::timestamptz`,
      [budgetId, periodStart.toISOString(), kind, token],
    );
  }

  /** The owning team of a collection, or null when it does not exist. */
  async collectionTeam(collectionId: string): Promise<string | null> {
    const r = await this.db.query<{ team_id: string }>('SELECT team_id FROM collections WHERE id::text = $1', [collectionId]);
    return r.rows[0]?.team_id ?? null;
  }

  async grants(collectionId: string): Promise<GrantRow[]> {
    const r = await this.db.query<GrantRow>(`SELECT ${GRANT_COLS} FROM collection_grants WHERE collection_id::text = $1 ORDER BY team_id`, [collectionId]);
    return r.rows;
  }

  /** One team's grant on a collection; `lock`: FOR UPDATE, inside the caller's transaction `q`. */
  async grant(collectionId: string, teamId: string, q: Queryable = this.db, lock = false): Promise<GrantRow | null> {
    const r = await q.query<GrantRow>(
      `SELECT ${GRANT_COLS} FROM collection_grants WHERE collection_id::text = $1 AND team_id = $2${lock ? ' FOR UPDATE' : ''}`,
      [collectionId, teamId],
    );
    return r.rows[0] ?? null;
  }

  async grantedCollections(teamId: string): Promise<{ collection_id: string; access: 'read' | 'write' }[]> {
    const r = await this.db.query<{ collection_id: string; access: 'read' | 'write' }>(
      'SELECT collection_id::text AS collection_id, access FROM collection_grants WHERE team_id = $1 ORDER BY collection_id LIMIT 1000',
      [teamId],
    );
    return r.rows;
  }

  async putGrant(g: Omit<GrantRow, 'created_at'>, q: Queryable = this.db): Promise<GrantRow> {
    const r = await q.query<GrantRow>(
      `INSERT INTO collection_grants (collection_id, team_id, access, granted_by) VALUES ($1::uuid, $2, $3, $4)
       ON CONFLICT (collection_id, team_id) DO UPDATE SET access = EXCLUDED.access, granted_by = EXCLUDED.granted_by
       RETURNING ${GRANT_COLS}`,
      [g.collection_id, g.team_id, g.access, g.granted_by],
    );
    return r.rows[0]!;
  }

  async deleteGrant(collectionId: string, teamId: string, q: Queryable = this.db): Promise<GrantRow | null> {
    const r = await q.query<GrantRow>(
      `DELETE FROM collection_grants WHERE collection_id::text = $1 AND team_id = $2 RETURNING ${GRANT_COLS}`,
      [collectionId, teamId],
    );
    return r.rows[0] ?? null;
  }
}
