-- The `budget.exhausted` alert is claimed in the database too, next to the soft-threshold alert:
-- its claim was a counter in Redis (or the gateway's memory), so a Redis flush or restart let the
-- alert go out a second time in the same period. A claim is now one row per budget, period and kind,
-- inserted with ON CONFLICT DO NOTHING: whoever inserts it sends the alert, across every replica and
-- restart. A failed delivery deletes its own row (the alert is tried again later), and a change of a
-- budget's limit, soft fraction or webhook deletes the period's rows of both kinds, as before.
-- Rows from before are soft-threshold claims.
ALTER TABLE budget_alerts ADD COLUMN kind text NOT NULL DEFAULT 'soft_threshold' CHECK (kind IN ('soft_threshold', 'exhausted'));
ALTER TABLE budget_alerts DROP CONSTRAINT budget_alerts_pkey;
ALTER TABLE budget_alerts ADD PRIMARY KEY (budget_id, period_start, kind);
