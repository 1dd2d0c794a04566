import type { Queryable } from '@quire/db';

export interface QueryFeedbackRow {
  rating: 'up' | 'down';
  comment: string | null;
  created_at: string;
}

/**
 * Records a rating and its comment; false when the query is gone. A redacted query's feedback keeps
 * no comment (@quire/stored-queries: a comment may quote the answer, and the
 * redaction blanks those it finds), so one given after the redaction, or while it commits, is stored
 * without it: the row's key-share lock waits for a redaction in flight and then reads `redacted_at`
 * as it committed. The rating is kept either way (statistics count it).
 */
export async function addFeedback(db: Queryable, teamId: string, keyId: string, queryId: string, rating: 'up' | 'down', comment: string | undefined): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO query_feedback (query_id, team_id, key_id, rating, comment)
     SELECT q.id, $2, $3, $4, CASE WHEN q.redacted_at IS NULL THEN $5::text END FROM (SELECT id, redacted_at FROM queries WHERE id = $1 FOR KEY SHARE) q`,
    [queryId, teamId, keyId, rating, comment ?? null],
  );
  return r.rowCount > 0;
}

export async function feedbackFor(db: Queryable, queryId: string): Promise<QueryFeedbackRow[]> {
  const r = await db.query<QueryFeedbackRow>(
    `SELECT rating, comment, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at FROM query_feedback WHERE query_id = $1 ORDER BY id`,
    [queryId],
  );
  return r.rows;
}

/** Whose queries a collection's stats cover (see `collectionQueryStats`). */
export interface StatsViewer {
  /** The team whose queries the figures are over: the caller's, or the owner's for an organisation admin. */
  teamId: string;
  /** The team owns the collection: it also gets the volume of the teams the collection is granted to. */
  owner: boolean;
}

/**
 * Per-collection aggregates over a time window, over the viewer's own team's queries: volume,
 * latency percentiles, cost per query (exact, from the ledger; NULL when any call was unpriced), the
 * share of answers that found nothing and the share of queries with feedback.
 *
 * Other teams' queries stay out of those figures. A granted team's query is its own business: its
 * cost is that team's spend, its feedback that team's opinion, and a multi-collection query's
 * latency, cost and no-answer also describe that team's other (private) collections. So a granted
 * team sees only its own queries, and the owner sees, of the others, only how many queries and
 * answers they made on its collection (`other_teams`: one total, no team, key or figure of theirs).
 */
export async function collectionQueryStats(db: Queryable, collectionId: string, viewer: StatsViewer, since: string | null) {
  const r = await db.query<{
    queries: number;
    answers: number;
    p50: number | null;
    p95: number | null;
    no_answer: number;
    with_feedback: number;
    thumbs_up: number;
    thumbs_down: number;
    cost: string | null;
    unpriced: number;
    other_queries: number;
    other_answers: number;
  }>(
    `WITH mine AS (
  SELECT id, team_id, kind, latency_ms, no_answer FROM queries
  WHERE (collection_id = $1 OR $1 = ANY(collection_ids)) AND ($2::timestamptz IS NULL OR created_at >= $2::timestamptz)
), q AS (
  SELECT id, kind, latency_ms, no_answer FROM mine WHERE team_id = $3
), fb AS (
  SELECT f.query_id, bool_or(f.rating = 'up') AS up, bool_or(f.rating = 'down') AS down FROM query_feedback f JOIN q ON q.id = f.query_id GROUP BY f.query_id
), cost AS (
  SELECT sum(l.cost_usd) AS total, count(*) FILTER (WHERE l.cost_usd IS NULL) AS unpriced FROM usage_ledger l JOIN q ON q.id = l.query_id
)
SELECT (SELECT count(*) FROM q)::int AS queries,
  (SELECT count(*) FROM q WHERE kind = 'answer')::int AS answers,
  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FROM q)::float8 AS p50,
  (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FROM q)::float8 AS p95,
  (SELECT count(*) FROM q WHERE no_answer)::int AS no_answer,
  (SELECT count(*) FROM fb)::int AS with_feedback,
  (SELECT count(*) FROM fb WHERE up)::int AS thumbs_up,
  (SELECT count(*) FROM fb WHERE down)::int AS thumbs_down,
  (SELECT total FROM cost)::text AS cost,
  (SELECT unpriced FROM cost)::int AS unpriced,
  (SELECT count(*) FROM mine WHERE team_id <> $3)::int AS other_queries,
  (SELECT count(*) FROM mine WHERE team_id <> $3 AND kind = 'answer')::int AS other_answers`,
    [collectionId, since, viewer.teamId],
  );
  const row = r.rows[0]!;
  const queries = Number(row.queries);
  const answers = Number(row.answers);
  const cost = row.cost === null ? 0 : Number(row.cost);
  const priced = Number(row.unpriced) === 0;
  return {
    collection_id: collectionId,
    since,
    /** The team whose queries the figures below are over. */
    team_id: viewer.teamId,
    queries,
    answers,
    latency_ms: { p50: row.p50 === null ? null : Number(row.p50), p95: row.p95 === null ? null : Number(row.p95) },
    cost_usd: { total: priced ? cost : null, per_query: priced && queries > 0 ? cost / queries : null, unpriced_calls: Number(row.unpriced) },
    no_answer_rate: answers > 0 ? Number(row.no_answer) / answers : null,
    feedback_rate: queries > 0 ? Number(row.with_feedback) / queries : null,
    feedback: { up: Number(row.thumbs_up), down: Number(row.thumbs_down) },
    other_teams: viewer.owner ? { queries: Number(row.other_queries), answers: Number(row.other_answers) } : null,
  };
}
