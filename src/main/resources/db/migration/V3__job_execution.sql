-- Audit trail of every maintenance job execution (scheduled or manual).
create table job_execution (
    id             bigserial    primary key,
    job_name       text         not null,
    instance_id    text         not null,
    fired_at       timestamptz  not null,
    started_at     timestamptz  not null default now(),
    finished_at    timestamptz,
    outcome        text         not null default 'running'
                   check (outcome in ('running', 'succeeded', 'failed')),
    error_message  text,
    stack_trace    text,
    trigger_source text         not null default 'schedule'
                   check (trigger_source in ('schedule', 'manual')),
    triggered_by   text
);

create index job_execution_job_started_idx on job_execution (job_name, started_at desc);
create index job_execution_outcome_started_idx on job_execution (outcome, started_at desc);
create index job_execution_started_idx on job_execution (started_at desc);
