-- The cases a benchmark run measures, frozen when the run is created. A run used to read its eval
-- set's cases again on every start and resume, so cases added meanwhile were run too: progress went
-- past its total and configurations finished before the addition lacked them. `position` is the
-- order the run takes them in (the set's ordinal order at creation).
-- No foreign key to eval_cases: a case deleted from the set after the run was created stays listed
-- here, so the run can report it as deleted instead of silently measuring fewer questions.
CREATE TABLE benchmark_cases (
  benchmark_id uuid NOT NULL REFERENCES benchmarks (id) ON DELETE CASCADE,
  position integer NOT NULL,
  case_id uuid NOT NULL,
  PRIMARY KEY (benchmark_id, position),
  UNIQUE (benchmark_id, case_id)
);

-- Runs created before this migration: the cases their set held when they were created.
INSERT INTO benchmark_cases (benchmark_id, position, case_id)
SELECT b.id, row_number() OVER (PARTITION BY b.id ORDER BY c.ordinal, c.id), c.id
FROM benchmarks b JOIN eval_cases c ON c.eval_set_id = b.eval_set_id AND c.created_at <= b.created_at;
