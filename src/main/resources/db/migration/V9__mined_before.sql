-- Whether an earlier run of this user and stream mined items. Set when a run is claimed (from the
-- previous run's items_mined), so a run's first page knows without a look-up in raw_item whether
-- incremental mining can stop early; a user's first run skips the per-page "all stored before?"
-- check altogether.
alter table mining_state add column mined_before boolean not null default false;

update mining_state s
   set mined_before = true
 where s.items_mined > 0
    or exists (select 1 from raw_item r where r.user_id = s.user_id and r.stream = s.stream);
