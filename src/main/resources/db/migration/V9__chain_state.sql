-- Whether an earlier run of this user and stream mined items. Set when a run is claimed (from the
-- previous run's items_mined), so a run's first page knows without a look-up in raw_item whether
-- incremental mining can stop early; a user's first run skips the per-page "all stored before?"
-- check altogether.
alter table mining_state add column mined_before boolean not null default false;

update mining_state s
   set mined_before = true
 where s.items_mined > 0
    or exists (select 1 from raw_item r where r.user_id = s.user_id and r.stream = s.stream);

-- V8's (stream, run_id, status) index matched a chain update (user_id, stream, run_id) as well as
-- the primary key did, and the planner took it: every update of a chain read the whole run's
-- entries (all users of the tick). Indexed by run only, the run's progress query still finds its
-- rows, and the chain updates go by the primary key.
drop index mining_state_run_idx;
create index mining_state_run_idx on mining_state (run_id) include (status);
