import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Db } from '@quire/db';
import { addDecimal } from '@quire/models';
import { AppError, handle, parseWith } from '@quire/server-kit';
import { isAdmin, type CallerLocals } from '../caller-identity.js';

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

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const Instant = z.string().refine((v) => DATE.test(v) || !Number.isNaN(Date.parse(v)), 'must be a date (YYYY-MM-DD) or an ISO timestamp');

const QuerySchema = z.object({
  group_by: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((dims) => dims.every((d) => d in DIMENSIONS), `group_by takes a comma-separated list of: ${Object.keys(DIMENSIONS).join(', ')}`)
    .transform((dims) => [...new Set(dims)] as Dimension[]),
  from: Instant.optional(),
  /** Exclusive; a bare date includes that whole day. */
  to: Instant.optional(),
  format: z.enum(['json', 'csv']).default('json'),
  team: z.string().optional(),
  key: z.string().optional(),
  collection: z.string().uuid().optional(),
  model: z.string().optional(),
  provider: z.string().optional(),
  route: z.string().optional(),
  purpose: z.string().optional(),
  capability: z.enum(['chat', 'embedding', 'rerank']).optional(),
});

const METRICS = ['requests', 'attempts', 'failed_attempts', 'unpriced_attempts', 'input_tokens', 'output_tokens', 'cached_input_tokens', 'reasoning_tokens', 'search_units', 'cost_usd'] as const;
const INT_METRICS = METRICS.filter((m) => m !== 'cost_usd');

type Row = Record<string, string | number | null>;

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/**
 * `GET /v1/usage`: cost and tokens from the ledger, grouped by any of team, key, collection, model,
 * route, purpose, day; exact decimal sums (strings); JSON or `format=csv`. Non-admins see their own
 * team only.
 */
export function usageRouter(db: Db): Router {
  const router = express.Router();
  router.get('/v1/usage', handle(async (req: Request, res: Response) => {
    const q = parseWith(QuerySchema, req.query, 'query');
    const identity = (res.locals as CallerLocals).identity;
    if (!isAdmin(identity)) {
      if (q.team !== undefined && q.team !== identity.team_id) throw new AppError('permission_denied', 'You can see the usage of your own team only.', { param: 'team' });
      q.team = identity.team_id;
    }
    const where: string[] = [];
    const params: unknown[] = [];
    const bind = (value: unknown) => `$${params.push(value)}`;
    if (q.from) where.push(`created_at >= ${bind(DATE.test(q.from) ? `${q.from}T00:00:00Z` : q.from)}::timestamptz`);
    if (q.to) where.push(`created_at < ${bind(DATE.test(q.to) ? `${nextDay(q.to)}T00:00:00Z` : q.to)}::timestamptz`);
    for (const [dim, sql] of Object.entries(FILTERS) as [Dimension, string | undefined][]) {
      const value = q[dim as keyof typeof q];
      if (sql && typeof value === 'string') where.push(`${sql} = ${bind(value)}`);
    }
    const groups = q.group_by.map((d) => `${DIMENSIONS[d]} AS "${d}"`);
    const sql = `SELECT ${[...groups,
      'count(DISTINCT trace_id)::text AS requests',
      'count(*)::text AS attempts',
      "count(*) FILTER (WHERE status <> 'ok')::text AS failed_attempts",
      "count(*) FILTER (WHERE cost_usd IS NULL)::text AS unpriced_attempts",
      'coalesce(sum(input_tokens), 0)::text AS input_tokens',
      'coalesce(sum(output_tokens), 0)::text AS output_tokens',
      'coalesce(sum(cached_input_tokens), 0)::text AS cached_input_tokens',
      'coalesce(sum(reasoning_tokens), 0)::text AS reasoning_tokens',
      'coalesce(sum(search_units), 0)::text AS search_units',
      'coalesce(sum(cost_usd), 0)::text AS cost_usd',
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
        row.cost_usd = r.cost_usd ?? '0';
        return row;
      });
    const totals: Row = {};
    for (const m of INT_METRICS) totals[m] = data.reduce((n, r) => n + (r[m] as number), 0);
    // `requests` are distinct traces; summing groups would count a request once per group it spans.
    if (q.group_by.length > 0) delete totals.requests;
    totals.cost_usd = data.reduce((sum, r) => addDecimal(sum, r.cost_usd as string), '0');

    if (q.format === 'csv') {
      const header = [...q.group_by, ...METRICS];
      const lines = [header.join(','), ...data.map((r) => header.map((h) => csvCell(r[h] ?? null)).join(','))];
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', 'attachment; filename="usage.csv"');
      res.send(`${lines.join('\r\n')}\r\n`);
      return;
    }
    res.json({ object: 'usage', group_by: q.group_by, from: q.from ?? null, to: q.to ?? null, ...(isAdmin(identity) ? {} : { team: identity.team_id }), data, totals });
  }));
  return router;
}
