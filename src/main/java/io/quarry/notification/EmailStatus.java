package io.quarry.notification;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Reads of the email table for the metrics and the dashboard: counts, backlog, failed mail. */
@Repository
public class EmailStatus {

  /** Mails per status. */
  public record Counts(long pending, long sending, long sent, long failed) {}

  /** What the sender still has to deliver: pending and in-flight mail, and the oldest one's age. */
  public record Backlog(long pending, Duration oldestAge) {}

  /** A failed mail with the server's reply. */
  public record FailedMail(
      long id,
      String recipient,
      String subject,
      int attempts,
      String failureClass,
      Integer smtpCode,
      String reply,
      Instant failedAt) {}

  private final JdbcClient jdbc;

  public EmailStatus(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  public Counts counts() {
    return jdbc.sql(
            """
            select count(*) filter (where status = 'pending'),
                   count(*) filter (where status = 'sending'),
                   count(*) filter (where status = 'sent'),
                   count(*) filter (where status = 'failed')
              from email
            """)
        .query((rs, n) -> new Counts(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)))
        .single();
  }

  public Backlog backlog() {
    return jdbc.sql(
            """
            select count(*), coalesce(extract(epoch from now() - min(created_at)), 0)
              from email where status in ('pending', 'sending')
            """)
        .query(
            (rs, n) ->
                new Backlog(rs.getLong(1), Duration.ofMillis((long) (rs.getDouble(2) * 1000))))
        .single();
  }

  /** The most recently failed mails, newest first. */
  public List<FailedMail> failed(int limit) {
    return jdbc.sql(
            """
            select id, recipient, subject, attempts, failure_class, smtp_code, last_error, updated_at
              from email where status = 'failed'
             order by updated_at desc, id desc limit :limit
            """)
        .param("limit", limit)
        .query(
            (rs, n) ->
                new FailedMail(
                    rs.getLong(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getInt(4),
                    rs.getString(5),
                    (Integer) rs.getObject(6),
                    rs.getString(7),
                    rs.getObject(8, OffsetDateTime.class).toInstant()))
        .list();
  }
}
