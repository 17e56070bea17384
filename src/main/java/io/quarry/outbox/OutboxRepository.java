package io.quarry.outbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The outbox table: appended to inside business transactions, drained by the relay. */
@Repository
public class OutboxRepository {

  /** A pending event as the relay publishes it. */
  public record PendingEvent(
      UUID id,
      long seq,
      String type,
      String routingKey,
      String payloadJson,
      int priority,
      int attempts) {}

  private final JdbcClient jdbc;
  private final ObjectMapper json;

  public OutboxRepository(JdbcClient jdbc, ObjectMapper json) {
    this.jdbc = jdbc;
    this.json = json;
  }

  /**
   * Adds an event to the caller's transaction; it is published only if that transaction commits.
   */
  public void append(IntegrationEvent event, int priority) {
    jdbc.sql(
            """
            insert into outbox_event (id, event_type, routing_key, payload, priority, occurred_at)
            values (:id, :type, :type, cast(:payload as jsonb), :priority, :occurredAt)
            """)
        .param("id", event.id())
        .param("type", event.type())
        .param("payload", toJson(event))
        .param("priority", priority)
        .param("occurredAt", Timestamp.from(event.occurredAt()))
        .update();
  }

  /**
   * Locks up to {@code limit} due events in creation order, skipping rows another relay holds; must
   * run inside the relay's transaction.
   */
  public List<PendingEvent> claimDue(int limit) {
    return jdbc.sql(
            """
            select id, seq, event_type, routing_key, payload::text, priority, attempts
              from outbox_event
             where published_at is null and next_attempt_at <= now()
             order by seq
             limit :limit
               for update skip locked
            """)
        .param("limit", limit)
        .query(
            (rs, n) ->
                new PendingEvent(
                    rs.getObject(1, UUID.class),
                    rs.getLong(2),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getString(5),
                    rs.getInt(6),
                    rs.getInt(7)))
        .list();
  }

  public void markPublished(List<UUID> ids) {
    if (ids.isEmpty()) {
      return;
    }
    jdbc.sql("update outbox_event set published_at = now(), last_error = null where id = any(:ids)")
        .param("ids", ids.toArray(UUID[]::new))
        .update();
  }

  /** Records a failed attempt; the event becomes due again after an exponential backoff. */
  public void markFailed(List<UUID> ids, String error, Duration maxBackoff) {
    if (ids.isEmpty()) {
      return;
    }
    jdbc.sql(
            """
            update outbox_event
               set attempts = attempts + 1,
                   last_error = :error,
                   next_attempt_at = now() + least(
                       interval '100 milliseconds' * power(2, least(attempts, 20)),
                       make_interval(secs => :maxBackoffSeconds))
             where id = any(:ids)
            """)
        .param("ids", ids.toArray(UUID[]::new))
        .param("error", error)
        .param("maxBackoffSeconds", maxBackoff.toMillis() / 1000.0)
        .update();
  }

  /** Deletes events published longer ago than the retention; returns how many. */
  public int prunePublishedOlderThan(Duration retention) {
    return jdbc.sql(
            """
            delete from outbox_event
             where published_at is not null
               and published_at < now() - make_interval(secs => :seconds)
            """)
        .param("seconds", retention.toMillis() / 1000.0)
        .update();
  }

  /** Number of unpublished events and the age of the oldest, for metrics and health. */
  public Backlog backlog() {
    return jdbc.sql(
            """
            select count(*), coalesce(extract(epoch from now() - min(created_at)), 0)
              from outbox_event where published_at is null
            """)
        .query(
            (rs, n) ->
                new Backlog(rs.getLong(1), Duration.ofMillis((long) (rs.getDouble(2) * 1000))))
        .single();
  }

  /** What the relay still has to publish. */
  public record Backlog(long pending, Duration oldestAge) {}

  private String toJson(IntegrationEvent event) {
    try {
      return json.writeValueAsString(event);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("event " + event.id() + " cannot be written as JSON", e);
    }
  }
}
