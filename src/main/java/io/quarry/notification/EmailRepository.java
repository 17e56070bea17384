package io.quarry.notification;

import java.time.Duration;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The email table: mail waiting, sent or failed, and the maintenance the events ask for. */
@Repository
public class EmailRepository {

  /** A mail claimed for delivery. */
  public record Email(long id, String recipient, String subject, String body, int attempts) {}

  /** A mail that was stuck in 'sending' longer than this (a crashed sender) is claimed again. */
  private static final Duration STUCK_AFTER = Duration.ofMinutes(10);

  private final JdbcClient jdbc;

  public EmailRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  /** Queues a mail for the sender; returns its id. */
  public long enqueue(Long userId, String recipient, String subject, String body) {
    return jdbc.sql(
            """
            insert into email (user_id, recipient, subject, body) values (:user, :to, :subject, :body)
            returning id
            """)
        .param("user", userId)
        .param("to", recipient)
        .param("subject", subject)
        .param("body", body)
        .query(Long.class)
        .single();
  }

  /** Claims up to {@code limit} pending mails for this sender, counting the attempt. */
  public List<Email> claimPending(int limit) {
    return jdbc.sql(
            """
            update email set status = 'sending', attempts = attempts + 1, updated_at = now()
             where id in (select id from email
                           where status = 'pending'
                              or (status = 'sending' and updated_at < now() - make_interval(secs => :stuck))
                           order by id limit :limit for update skip locked)
            returning id, recipient, subject, body, attempts
            """)
        .param("limit", limit)
        .param("stuck", STUCK_AFTER.toSeconds())
        .query(
            (rs, n) ->
                new Email(
                    rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getInt(5)))
        .list();
  }

  public void markSent(long id) {
    jdbc.sql(
            "update email set status = 'sent', sent_at = now(), updated_at = now(), last_error = null where id = :id")
        .param("id", id)
        .update();
  }

  public void markFailed(long id, String error) {
    jdbc.sql(
            "update email set status = 'failed', last_error = :error, updated_at = now() where id = :id")
        .param("id", id)
        .param("error", error)
        .update();
  }

  /** Puts failed mail with attempts left back in line for the sender; returns how many. */
  public int requeueFailed(int maxAttempts) {
    return jdbc.sql(
            """
            update email set status = 'pending', updated_at = now()
             where status = 'failed' and attempts < :max
            """)
        .param("max", maxAttempts)
        .update();
  }

  /** Deletes sent mail older than the retention in batches; returns how many in all. */
  public int deleteSentOlderThan(Duration retention, int batchSize) {
    int total = 0;
    int deleted;
    do {
      deleted =
          jdbc.sql(
                  """
                  delete from email where id in (
                      select id from email
                       where status = 'sent' and sent_at < now() - make_interval(secs => :retention)
                       limit :batch)
                  """)
              .param("retention", retention.toMillis() / 1000.0)
              .param("batch", batchSize)
              .update();
      total += deleted;
    } while (deleted == batchSize);
    return total;
  }
}
