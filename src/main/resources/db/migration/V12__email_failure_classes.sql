-- What an SMTP failure was: 'permanent' (a 5xx reply, a malformed address: never retried on its
-- own), 'transient' (a 4xx reply: retried with backoff, counted against the attempt limit) or
-- 'unreachable' (no connection, no answer: retried, not counted). The reply code and text of the
-- server are kept in smtp_code and last_error.
alter table email
    add column failure_class   text check (failure_class in ('permanent', 'transient', 'unreachable')),
    add column smtp_code       integer,
    add column next_attempt_at timestamptz;

-- Operator actions on mail (the admin's bulk re-queue of failed mail), for the audit trail.
create table email_action (
    id        bigserial    primary key,
    action    text         not null check (action in ('requeue-failed')),
    actor     text         not null,
    mails     integer      not null,
    acted_at  timestamptz  not null default now()
);

create index email_action_acted_idx on email_action (acted_at desc);
