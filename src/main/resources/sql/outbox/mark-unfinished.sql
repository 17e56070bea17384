update outbox_event
   set attempts = attempts + 1,
       last_error = :#error,
       next_attempt_at = now() + least(
           interval '1 second' * power(2, least(attempts, 20)),
           make_interval(secs => :#maxBackoffSeconds))
 where id = any(:#ids) and published_at is null
