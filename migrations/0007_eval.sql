-- Evaluation: eval sets (questions with graded relevance), benchmark runs over configurations with
-- per-case results (resumable), and promotion decisions for index versions.

CREATE TABLE eval_sets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  team_id text NOT NULL,
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  synthetic boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX eval_sets_collection_idx ON eval_sets (collection_id);

-- relevant: [{document_id?, chunk_id?, grade}] (grade > 0 relevant; graded nDCG uses it as gain).
CREATE TABLE eval_cases (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  eval_set_id uuid NOT NULL REFERENCES eval_sets (id) ON DELETE CASCADE,
  ordinal integer NOT NULL,
  external_id text,
  question text NOT NULL,
  relevant jsonb NOT NULL DEFAULT '[]'::jsonb,
  reference_answer text,
  synthetic boolean NOT NULL DEFAULT false,
  source_query_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX eval_cases_set_idx ON eval_cases (eval_set_id, ordinal);

CREATE TABLE benchmarks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  team_id text NOT NULL,
  eval_set_id uuid NOT NULL REFERENCES eval_sets (id) ON DELETE CASCADE,
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'stopped_budget', 'failed', 'cancelled')),
  -- Each configuration as submitted plus its resolved index version (so a later activation does
  -- not change what a finished run measured).
  configurations jsonb NOT NULL,
  judge_model text,
  budget_usd numeric(24, 12),
  -- Who the run acts for: a fresh identity token is signed from it for every case (after a restart too).
  identity jsonb NOT NULL,
  cases_total integer NOT NULL,
  error_message text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX benchmarks_team_idx ON benchmarks (team_id, created_at DESC);
CREATE INDEX benchmarks_status_idx ON benchmarks (status) WHERE status IN ('queued', 'running');

-- One row per (configuration, case): the unit of progress. A restarted runner skips what is here.
CREATE TABLE benchmark_results (
  benchmark_id uuid NOT NULL REFERENCES benchmarks (id) ON DELETE CASCADE,
  config_index integer NOT NULL,
  case_id uuid NOT NULL REFERENCES eval_cases (id) ON DELETE CASCADE,
  query_id uuid,
  status text NOT NULL CHECK (status IN ('ok', 'error')),
  metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
  ranked jsonb NOT NULL DEFAULT '[]'::jsonb,
  timings_ms jsonb NOT NULL DEFAULT '{}'::jsonb,
  answer text,
  details jsonb,
  error_message text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (benchmark_id, config_index, case_id)
);

-- Every query id a run started, written before its first model call, so the budget counts calls of
-- attempts cut short by a restart too.
CREATE TABLE benchmark_queries (
  benchmark_id uuid NOT NULL REFERENCES benchmarks (id) ON DELETE CASCADE,
  query_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (benchmark_id, query_id)
);

-- Promotion decisions (allowed, refused, forced) with the numbers they rest on. Forced ones are
-- also written to audit_log.
CREATE TABLE index_version_promotions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
  index_version_id uuid NOT NULL,
  previous_index_version_id uuid,
  benchmark_id uuid,
  outcome text NOT NULL CHECK (outcome IN ('promoted', 'refused', 'forced')),
  evidence jsonb,
  team_id text NOT NULL,
  key_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
