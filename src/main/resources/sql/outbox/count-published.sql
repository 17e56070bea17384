select count(*) from outbox_event where id = any(:#ids) and published_at is not null
