-- Mail the notification side delivers over SMTP.
create table email (
    id          bigserial    primary key,
    user_id     bigint       references app_user (id) on delete set null,
    recipient   text         not null,
    subject     text         not null,
    body        text         not null,
    status      text         not null default 'pending'
                check (status in ('pending', 'sending', 'sent', 'failed')),
    attempts    integer      not null default 0,
    last_error  text,
    created_at  timestamptz  not null default now(),
    updated_at  timestamptz  not null default now(),
    sent_at     timestamptz
);

create index email_pending_idx on email (id) where status in ('pending', 'sending');
create index email_failed_idx on email (id) where status = 'failed';
create index email_sent_idx on email (sent_at) where status = 'sent';

-- Idempotent consumers: a message id seen by a processor, and when. Shared by every instance.
create table processed_message (
    processor   text         not null,
    message_id  text         not null,
    seen_at     timestamptz  not null default now(),
    primary key (processor, message_id)
);

create index processed_message_seen_idx on processed_message (seen_at);

-- Operator actions on jobs (pause, resume, trigger), for the audit trail.
create table job_action (
    id          bigserial    primary key,
    job_name    text         not null,
    action      text         not null check (action in ('trigger', 'pause', 'resume')),
    actor       text         not null,
    acted_at    timestamptz  not null default now()
);

create index job_action_job_idx on job_action (job_name, acted_at desc);

-- Wake the outbox relay when events are committed (one notification per statement; PostgreSQL
-- delivers it only at commit). The payload is the schema, so instances of other schemas ignore it.
create function outbox_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('quarry_outbox', current_schema());
    return null;
end
$$;

create trigger outbox_event_notify after insert on outbox_event
    for each statement execute function outbox_notify();
