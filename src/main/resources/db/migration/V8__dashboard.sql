-- Who replayed or discarded a parked dead letter (the dashboard's audit trail).
alter table dead_letter add column handled_by text;

-- The dashboard's history filters scheduler ticks by outcome as it does job executions.
create index scheduler_run_outcome_started_idx on scheduler_run (outcome, started_at desc);
create index scheduler_run_started_idx on scheduler_run (started_at desc);

-- Per-stream progress of the current run and the users needing attention.
create index mining_state_run_idx on mining_state (stream, run_id, status);
