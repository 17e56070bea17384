-- Who asked for a stream tick: null for the Quartz schedule, the admin's name for a "run now"
-- (the dashboard labels the tick manual by that admin).
alter table scheduler_run add column triggered_by text;
