-- A maintenance job's run is 'running' from the moment its event is queued until the event's
-- handler has done the work; the handler then records what it did (the effect) and closes it.
-- (job_execution_outcome_started_idx serves the "running now" view and the failed-runs gauge.)
alter table job_execution add column effect text;
alter table job_execution add column effect_count bigint;
-- A run an admin started as the retry of an earlier (failed) run.
alter table job_execution add column retry_of bigint references job_execution (id) on delete set null;
