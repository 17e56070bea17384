delete from outbox_event
 where published_at is not null
   and published_at < now() - make_interval(secs => :#retentionSeconds)
