-- A tick's liveness and how far its fan-out got, so that the claims of a tick whose instance died
-- between claim and publish can be released (MiningStateRepository.releaseAbandoned): the chains of
-- users after published_through were claimed but never sent.
alter table scheduler_run add column instance text;
alter table scheduler_run add column heartbeat_at timestamptz;
alter table scheduler_run add column users_published integer not null default 0;
alter table scheduler_run add column published_through bigint;
alter table scheduler_run add column users_resumed integer not null default 0;

create index scheduler_run_running_idx on scheduler_run (stream, heartbeat_at) where outcome = 'running';

-- The run whose interrupted chain this run took over (null: the chain started afresh).
alter table mining_state add column resumed_from uuid;
