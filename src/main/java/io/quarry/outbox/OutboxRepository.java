package io.quarry.outbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Timestamp;
import java.time.Duration;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The outbox table: appended to inside business transactions. The relay route claims, marks and
 * prunes it with the statements in {@code sql/outbox/}.
 */
@Repository
public class OutboxRepository {

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
