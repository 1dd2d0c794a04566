-- Gateway routing: named virtual models changed at run time through the admin API. A row here
-- overrides the route of the same name in QUIRE_ROUTES_FILE; a row with a NULL config hides it.
CREATE TABLE gateway_routes (
  name text PRIMARY KEY,
  config jsonb,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Why each attempt went where it went: the routing decision (strategy, budget downgrade, latency
-- switch, circuit state, skipped targets) and the target it fell back from, if any.
ALTER TABLE usage_ledger ADD COLUMN route_reason text;
ALTER TABLE usage_ledger ADD COLUMN fallback_from text;

-- /v1/usage reads by time range across teams (admins) as well as per team.
CREATE INDEX usage_ledger_time_idx ON usage_ledger (created_at);
