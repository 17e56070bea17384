-- Transactional outbox: integration events written in the same transaction as the change that
-- caused them, published to RabbitMQ by the relay route.
create table outbox_event (
    id              uuid         primary key,
    seq             bigserial    not null unique,
    event_type      text         not null,
    routing_key     text         not null,
    payload         jsonb        not null,
    priority        smallint     not null default 0,
    occurred_at     timestamptz  not null,
    created_at      timestamptz  not null default now(),
    published_at    timestamptz,
    attempts        integer      not null default 0,
    next_attempt_at timestamptz  not null default now(),
    last_error      text
);

-- The relay only ever looks at unpublished rows, in creation order.
create index outbox_event_pending_idx on outbox_event (seq) where published_at is null;
create index outbox_event_published_idx on outbox_event (published_at) where published_at is not null;
