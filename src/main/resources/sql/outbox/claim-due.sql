select id, routing_key, event_type, payload::text as payload, priority
  from outbox_event
 where published_at is null and next_attempt_at <= now()
 order by seq
 limit :#limit
   for update skip locked
