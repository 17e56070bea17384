-- Users whose platform data Quarry mines. The access token is AES-GCM encrypted by the
-- application (key: quarry.security.token-key); the database never sees it in clear.
create table app_user (
    id                   bigserial    primary key,
    external_id          text         not null unique,
    active               boolean      not null default true,
    access_token         bytea,
    needs_reauthorization boolean     not null default false,
    created_at           timestamptz  not null default now(),
    updated_at           timestamptz  not null default now()
);

create index app_user_active_idx on app_user (id) where active;

-- One row per (user, stream): where that user's chain stands and why it last stopped.
create table mining_state (
    user_id        bigint       not null references app_user (id) on delete cascade,
    stream         text         not null,
    status         text         not null default 'idle'
                   check (status in ('idle', 'in_progress', 'completed', 'stopped', 'failed')),
    run_id         uuid,
    current_marker text,
    pages_mined    bigint       not null default 0,
    items_mined    bigint       not null default 0,
    stop_reason    text,
    last_error     text,
    started_at     timestamptz,
    updated_at     timestamptz  not null default now(),
    finished_at    timestamptz,
    primary key (user_id, stream)
);

create index mining_state_status_idx on mining_state (stream, status);

-- One row per scheduler tick of a stream.
create table scheduler_run (
    run_id          uuid         primary key,
    stream          text         not null,
    started_at      timestamptz  not null default now(),
    finished_at     timestamptz,
    outcome         text         not null default 'running'
                    check (outcome in ('running', 'succeeded', 'failed')),
    users_scheduled integer      not null default 0,
    users_skipped   integer      not null default 0,
    error           text
);

create index scheduler_run_stream_started_idx on scheduler_run (stream, started_at desc);
