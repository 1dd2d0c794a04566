import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { isOrgAdmin, UuidSchema } from '@quire/contracts';
import type { Db } from '@quire/db';
import { addDecimal } from '@quire/models';
import { AppError, handle, parseStrict, exactRouter } from '@quire/server-kit';
import type { CallerLocals } from '../caller-identity.js';
import { csvCell } from '../csv.js';

/** What `group_by` accepts, and the SQL each dimension groups by. */
const DIMENSIONS = {
  team: 'team_id',
  key: 'key_id',
  collection: 'collection_id::text',
  model: "provider || '/' || model",
  provider: 'provider',
  route: 'route',
  purpose: 'purpose',
  capability: 'capability',
  day: "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
} as const;
type Dimension = keyof typeof DIMENSIONS;

/** Filters: the same dimensions (but day, which is from/to), matched exactly. */
const FILTERS: Partial<Record<Dimension, string>> = { ...DIMENSIONS, day: undefined };

/** A calendar date that exists (zod checks month lengths and leap years); year 0 is not one to Postgres. */
const Day = z.iso.date().refine((v) => !v.startsWith('0000'), 'year 0000 is not a date');
/** With `Z` or an offset only: a bare timestamp would be read in the database session's time zone. */
const Timestamp = z.iso.datetime({ offset: true }).refine((v) => !v.startsWith('0000'), 'year 0000 is not a date');
const isDay = (v: string) => Day.safeParse(v).success;
const Bound = z
  .string()
  .max(64)
  .refine((v) => isDay(v) || Timestamp.safeParse(v).success, 'must be a calendar date (YYYY-MM-DD, UTC) or an ISO timestamp with Z or an offset (2024-05-01T00:00:00Z)');

const QuerySchema = z.object({
  group_by: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((dims) => dims.every((d) => d in DIMENSIONS), `group_by takes a comma-separated list of: ${Object.keys(DIMENSIONS).join(', ')}`)
    .transform((dims) => [...new Set(dims)] as Dimension[]),
  from: Bound.optional(),
  /** Exclusive; a bare date includes that whole day. */
  to: Bound.optional(),
  format: z.enum(['json', 'csv']).default('json'),
  team: z.string().optional(),
  key: z.string().optional(),
  collection: UuidSchema.optional(),
  model: z.string().optional(),
  provider: z.string().optional(),
  route: z.string().optional(),
  purpose: z.string().optional(),
  capability: z.enum(['chat', 'embedding', 'rerank']).optional(),
});

/**
 * One caller request: the gateway's request id, unique per request; for rows without one (written
 * before it was recorded, or by the services on a caller's behalf) the trace id within its key, so
 * calls of other keys that reuse an `x-request-id` are never merged. The prefixes keep the two apart.
 */
const REQUEST = "coalesce('r:' || request_id, 't:' || key_id || ' ' || trace_id)";

const METRICS = ['requests', 'attempts', 'failed_attempts', 'unpriced_attempts', 'input_tokens', 'output_tokens', 'cached_input_tokens', 'reasoning_tokens', 'search_units', 'cost_usd'] as const;
const INT_METRICS = METRICS.filter((m) => m !== 'cost_usd');

type Row = Record<string, string | number | null>;

/**
 * `GET /v1/usage`: cost and tokens from the ledger, grouped by any of team, key, collection, model,
 * route, purpose, day; exact decimal sums (strings); JSON or `format=csv`. Non-admins see their own
 * team only.
 *
 * `requests` counts distinct caller requests (the gateway's request id, or key and trace id for rows
 * without one: see REQUEST), one per request however many attempts, retries and fallbacks it made, so
 * it cannot be summed across groups. `cost_usd` sums the priced attempts and
 * is null for a group whose attempts are all unpriced; `unpriced_attempts` says how many were left
 * out, so a non-null cost with unpriced attempts is a lower bound.
 */
export function usageRouter(db: Db): Router {
  const router = exactRouter();
  router.get('/v1/usage', handle(async (req: Request, res: Response) => {
    const q = parseStrict(QuerySchema, req.query, 'query');
    const identity = (res.locals as CallerLocals).identity;
    if (!isOrgAdmin(identity)) {
      if (q.team !== undefined && q.team !== identity.team_id) throw new AppError('permission_denied', 'You can see the usage of your own team only.', { param: 'team' });
      q.team = identity.team_id;
    }
    const where: string[] = [];
    const params: unknown[] = [];
    const bind = (value: unknown) => `$${params.push(value)}`;
    // Days are UTC days, computed by Postgres so that no bound depends on the session's time zone.
    if (q.from) where.push(isDay(q.from) ? `created_at >= (${bind(q.from)}::date::timestamp AT TIME ZONE 'UTC')` : `created_at >= ${bind(q.from)}::timestamptz`);
    if (q.to) where.push(isDay(q.to) ? `created_at < ((${bind(q.to)}::date + 1)::timestamp AT TIME ZONE 'UTC')` : `created_at < ${bind(q.to)}::timestamptz`);
    for (const [dim, sql] of Object.entries(FILTERS) as [Dimension, string | undefined][]) {
      const value = q[dim as keyof typeof q];
      if (sql && typeof value === 'string') where.push(`${sql} = ${bind(value)}`);
    }
    const groups = q.group_by.map((d) => `${DIMENSIONS[d]} AS "${d}"`);
    const sql = `SELECT ${[...groups,
      `count(DISTINCT ${REQUEST})::text AS requests`,
      'count(*)::text AS attempts',
      "count(*) FILTER (WHERE status <> 'ok')::text AS failed_attempts",
      "count(*) FILTER (WHERE cost_usd IS NULL)::text AS unpriced_attempts",
      'coalesce(sum(input_tokens), 0)::text AS input_tokens',
      'coalesce(sum(output_tokens), 0)::text AS output_tokens',
      'coalesce(sum(cached_input_tokens), 0)::text AS cached_input_tokens',
      'coalesce(sum(reasoning_tokens), 0)::text AS reasoning_tokens',
      'coalesce(sum(search_units), 0)::text AS search_units',
      // NULL when every attempt of the group is unpriced: its cost is unknown, not zero.
      'sum(cost_usd)::text AS cost_usd',
    ].join(', ')}
      FROM usage_ledger ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ${groups.length ? `GROUP BY ${q.group_by.map((_d, i) => i + 1).join(', ')} ORDER BY ${q.group_by.map((_d, i) => i + 1).join(', ')}` : ''}`;
    const { rows } = await db.query<Record<string, string | null>>(sql, params);
    const data: Row[] = rows
      .filter((r) => groups.length > 0 || Number(r.attempts) > 0)
      .map((r) => {
        const row: Row = {};
        for (const d of q.group_by) row[d] = r[d] ?? null;
        for (const m of INT_METRICS) row[m] = Number(r[m]);
        row.cost_usd = r.cost_usd ?? null;
        return row;
      });
    const totals: Row = {};
    for (const m of INT_METRICS) totals[m] = data.reduce((n, r) => n + (r[m] as number), 0);
    // `requests` are distinct requests; summing groups would count a request once per group it spans.
    if (q.group_by.length > 0) delete totals.requests;
    const priced = data.filter((r) => r.cost_usd !== null);
    totals.cost_usd = data.length > 0 && priced.length === 0 ? null : priced.reduce((sum, r) => addDecimal(sum, r.cost_usd as string), '0');

    if (q.format === 'csv') {
      const header = [...q.group_by, ...METRICS];
      const lines = [header.join(','), ...data.map((r) => header.map((h) => csvCell(r[h] ?? null)).join(','))];
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', 'attachment; filename="usage.csv"');
      res.send(`${lines.join('\r\n')}\r\n`);
      return;
    }
    res.json({ object: 'usage', group_by: q.group_by, from: q.from ?? null, to: q.to ?? null, ...(isOrgAdmin(identity) ? {} : { team: identity.team_id }), data, totals });
  }));
  return router;
}
