update outbox_event set published_at = now(), last_error = null where id = any(:#ids)
