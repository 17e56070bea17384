-- Markers seen in the current run of a chain, to stop cycles (A -> B -> A).
alter table mining_state add column seen_markers text[] not null default '{}';
alter table mining_state add column run_started_at timestamptz;

-- Where a user's digest mail goes (optional).
alter table app_user add column email text;

-- Every mined item, once per (user, stream, item id), whatever the redeliveries.
create table raw_item (
    user_id    bigint       not null references app_user (id) on delete cascade,
    stream     text         not null,
    item_id    text         not null,
    item       jsonb        not null,
    item_day   date,
    run_id     uuid,
    stored_at  timestamptz  not null default now(),
    primary key (user_id, stream, item_id)
);

-- Items per user, stream and day, counted once per batch (processed_message guards the batch).
create table analytics_daily (
    user_id  bigint  not null references app_user (id) on delete cascade,
    stream   text    not null,
    day      date    not null,
    items    bigint  not null,
    primary key (user_id, stream, day)
);

alter table scheduler_run add column users_read integer not null default 0;
