-- Index-version builds run under a lease, so only one process builds a version at a time and a
-- build whose process died is found and resumed by another live one.
--
-- build_holder       the process building the version (NULL: nobody; a clean stop releases it).
-- build_lease_until  the holder renews this as the build makes progress; once it has passed, the
--                    build has stalled and any process may take it over.
-- build_resumes      how many times a build was taken over from a holder that stopped renewing.
-- build_stall_reason the last takeover: whose lease expired, when, and who resumed it (kept after
--                    the build finishes, so the version's history shows it).
ALTER TABLE index_versions ADD COLUMN build_holder text;
ALTER TABLE index_versions ADD COLUMN build_lease_until timestamptz;
ALTER TABLE index_versions ADD COLUMN build_resumes integer NOT NULL DEFAULT 0;
ALTER TABLE index_versions ADD COLUMN build_stall_reason text;
