-- One worker runs a benchmark at a time. Two processes can take up the same run (both resume it at
-- start-up without Redis, or a queue hands a stalled job out again); each used to run, and pay for,
-- every case. The worker holding the run renews its lease; another waits until the run is final or
-- the lease lapses (its holder died), then takes it over and resumes where it stopped.
ALTER TABLE benchmarks ADD COLUMN runner text;
ALTER TABLE benchmarks ADD COLUMN runner_lease_until timestamptz;
