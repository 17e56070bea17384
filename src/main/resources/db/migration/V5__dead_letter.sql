-- Messages that failed permanently or exhausted their retries, kept with everything needed to
-- replay them to where they came from.
create table dead_letter (
    id               bigserial    primary key,
    source_queue     text         not null,
    target_exchange  text         not null default '',
    target_routing_key text       not null,
    message_id       text,
    headers          jsonb        not null default '{}'::jsonb,
    content_type     text,
    content_encoding text,
    body             bytea        not null,
    reason           text         not null,
    exception_class  text,
    route_id         text,
    attempts         integer      not null default 0,
    permanent        boolean      not null default false,
    parked_at        timestamptz  not null default now(),
    replayed_at      timestamptz,
    discarded_at     timestamptz
);

create index dead_letter_open_idx on dead_letter (parked_at desc)
    where replayed_at is null and discarded_at is null;
