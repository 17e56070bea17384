package io.quarry.deadletter;

import io.quarry.monitoring.OpenDeadLetters;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Parked dead letters: kept with everything needed to replay them. */
@Repository
public class DeadLetterRepository implements OpenDeadLetters {

  /** A parked message. */
  public record Parked(
      long id,
      String sourceQueue,
      String targetRoutingKey,
      String contentType,
      String contentEncoding,
      byte[] body,
      String headersJson,
      String reason,
      String exceptionClass,
      String routeId,
      int attempts,
      boolean permanent,
      Instant parkedAt,
      Instant replayedAt,
      Instant discardedAt) {}

  private final JdbcClient jdbc;

  public DeadLetterRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  public long park(
      String sourceQueue,
      String messageId,
      String headersJson,
      String contentType,
      String contentEncoding,
      byte[] body,
      String reason,
      String exceptionClass,
      String routeId,
      int attempts,
      boolean permanent) {
    return jdbc.sql(
            """
            insert into dead_letter (source_queue, target_exchange, target_routing_key, message_id,
                                     headers, content_type, content_encoding, body, reason,
                                     exception_class, route_id, attempts, permanent)
            values (:queue, '', :queue, :messageId, cast(:headers as jsonb), :contentType,
                    :contentEncoding, :body, :reason, :exception, :route, :attempts, :permanent)
            returning id
            """)
        .param("queue", sourceQueue)
        .param("messageId", messageId)
        .param("headers", headersJson)
        .param("contentType", contentType)
        .param("contentEncoding", contentEncoding)
        .param("body", body)
        .param("reason", reason)
        .param("exception", exceptionClass)
        .param("route", routeId)
        .param("attempts", attempts)
        .param("permanent", permanent)
        .query(Long.class)
        .single();
  }

  public Optional<Parked> find(long id) {
    return jdbc.sql(SELECT + " where id = :id")
        .param("id", id)
        .query(DeadLetterRepository::map)
        .optional();
  }

  /** Parked messages still waiting for a decision, newest first. */
  public List<Parked> open(int limit, int offset) {
    return jdbc.sql(
            SELECT
                + " where replayed_at is null and discarded_at is null order by parked_at desc, id desc limit :limit offset :offset")
        .param("limit", limit)
        .param("offset", offset)
        .query(DeadLetterRepository::map)
        .list();
  }

  /** How many parked messages wait for a decision. */
  @Override
  public long openCount() {
    return jdbc.sql(
            "select count(*) from dead_letter where replayed_at is null and discarded_at is null")
        .query(Long.class)
        .single();
  }

  public boolean markReplayed(long id, String user) {
    return jdbc.sql(
                "update dead_letter set replayed_at = now(), handled_by = :user where id = :id and replayed_at is null and discarded_at is null")
            .param("id", id)
            .param("user", user)
            .update()
        == 1;
  }

  public boolean markDiscarded(long id, String user) {
    return jdbc.sql(
                "update dead_letter set discarded_at = now(), handled_by = :user where id = :id and replayed_at is null and discarded_at is null")
            .param("id", id)
            .param("user", user)
            .update()
        == 1;
  }

  private static final String SELECT =
      """
      select id, source_queue, target_routing_key, content_type, content_encoding, body,
             headers::text, reason, exception_class, route_id, attempts, permanent, parked_at,
             replayed_at, discarded_at
        from dead_letter""";

  private static Parked map(java.sql.ResultSet rs, int row) throws java.sql.SQLException {
    return new Parked(
        rs.getLong(1),
        rs.getString(2),
        rs.getString(3),
        rs.getString(4),
        rs.getString(5),
        rs.getBytes(6),
        rs.getString(7),
        rs.getString(8),
        rs.getString(9),
        rs.getString(10),
        rs.getInt(11),
        rs.getBoolean(12),
        instant(rs.getTimestamp(13)),
        instant(rs.getTimestamp(14)),
        instant(rs.getTimestamp(15)));
  }

  private static Instant instant(Timestamp t) {
    return t == null ? null : t.toInstant();
  }
}
