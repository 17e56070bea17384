-- Each instance's configured schedule of each job (quarry.jobs.<job>.cron and time-zone, the
-- streams' schedule): how an instance knows what the others want. "since" is when this cron first
-- appeared in the configuration; the newest configuration (or a newer run-time edit) wins.
create table job_schedule_config (
    job_name    text         not null,
    instance_id text         not null,
    cron        text         not null,
    time_zone   text         not null,
    since       timestamptz  not null default now(),
    seen_at     timestamptz  not null default now(),
    primary key (job_name, instance_id)
);

-- A job's schedule as an admin edited it at run time; it holds until a configured cron changes.
create table job_schedule_edit (
    job_name    text         primary key,
    cron        text         not null,
    time_zone   text         not null,
    edited_by   text         not null,
    edited_at   timestamptz  not null default now()
);

-- The audit trail records schedule edits too, with what changed (old -> new).
alter table job_action add column detail text;
alter table job_action drop constraint job_action_action_check;
alter table job_action add constraint job_action_action_check
    check (action in ('trigger', 'pause', 'resume', 'edit-schedule'));
