package io.quarry.notification;

import java.sql.Types;
import java.time.Duration;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.annotation.Transactional;

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

  /**
   * Claims up to {@code limit} pending mails whose next attempt is due for this sender, counting
   * the attempt.
   */
  public List<Email> claimPending(int limit) {
    return jdbc.sql(
            """
            update email set status = 'sending', attempts = attempts + 1, updated_at = now()
             where id in (select id from email
                           where (status = 'pending'
                                  and (next_attempt_at is null or next_attempt_at <= now()))
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
            """
            update email set status = 'sent', sent_at = now(), updated_at = now(), last_error = null,
                             failure_class = null, smtp_code = null, next_attempt_at = null
             where id = :id
            """)
        .param("id", id)
        .update();
  }

  /** A permanent failure: the mail is failed for good, with the server's reply code and text. */
  public void markPermanentlyFailed(long id, Integer smtpCode, String reply) {
    jdbc.sql(
            """
            update email set status = 'failed', failure_class = 'permanent', smtp_code = :code,
                             last_error = :reply, next_attempt_at = null, updated_at = now()
             where id = :id
            """)
        .param("id", id)
        .param("code", smtpCode, Types.INTEGER)
        .param("reply", reply)
        .update();
  }

  /**
   * A transient failure, counted as an attempt: the mail is tried again after {@code backoff}
   * doubled for each earlier attempt (at most {@code maxBackoff}), or fails for good once it has
   * had {@code maxAttempts}.
   */
  public void retryLater(
      long id,
      Integer smtpCode,
      String reply,
      Duration backoff,
      Duration maxBackoff,
      int maxAttempts) {
    jdbc.sql(
            """
            update email set status = case when attempts >= :max then 'failed' else 'pending' end,
                             failure_class = 'transient', smtp_code = :code, last_error = :reply,
                             next_attempt_at = case when attempts >= :max then null
                                 else now() + make_interval(secs => least(
                                          :backoff * power(2, greatest(attempts - 1, 0)),
                                          :maxBackoff)) end,
                             updated_at = now()
             where id = :id
            """)
        .param("id", id)
        .param("code", smtpCode, Types.INTEGER)
        .param("reply", reply)
        .param("backoff", backoff.toMillis() / 1000.0)
        .param("maxBackoff", maxBackoff.toMillis() / 1000.0)
        .param("max", maxAttempts)
        .update();
  }

  /**
   * The SMTP server could not be reached: the attempt is given back and the mail waits {@code
   * delay}. A null {@code reason} (a mail not even tried during an outage) keeps the last error.
   */
  public void postpone(long id, String reason, Duration delay) {
    jdbc.sql(
            """
            update email set status = 'pending', attempts = greatest(attempts - 1, 0),
                             failure_class = 'unreachable', smtp_code = null,
                             last_error = coalesce(:reason, last_error),
                             next_attempt_at = now() + make_interval(secs => :delay),
                             updated_at = now()
             where id = :id
            """)
        .param("id", id)
        .param("reason", reason)
        .param("delay", delay.toMillis() / 1000.0)
        .update();
  }

  /**
   * Puts failed mail with attempts left back in line for the sender; returns how many. A permanent
   * failure (a 5xx reply) is not put back: only an operator can ({@link #requeueFailedByOperator}).
   */
  public int requeueFailed(int maxAttempts) {
    return jdbc.sql(
            """
            update email set status = 'pending', next_attempt_at = null, updated_at = now()
             where status = 'failed' and attempts < :max
               and failure_class is distinct from 'permanent'
            """)
        .param("max", maxAttempts)
        .update();
  }

  /**
   * The operator's re-queue, with or without the mails the server refused for good ({@code
   * permanent}): put back in line with their attempts reset, audited ({@code requeue-failed}, or
   * {@code requeue-transient} without the permanent ones) with who did it. Returns how many.
   */
  @Transactional
  public int requeueFailedByOperator(String actor, boolean permanent) {
    int mails =
        jdbc.sql(
                """
                update email set status = 'pending', attempts = 0, next_attempt_at = null,
                                 updated_at = now()
                 where status = 'failed'
                   and (:permanent or failure_class is distinct from 'permanent')
                """)
            .param("permanent", permanent)
            .update();
    jdbc.sql("insert into email_action (action, actor, mails) values (:action, :actor, :mails)")
        .param("action", permanent ? "requeue-failed" : "requeue-transient")
        .param("actor", actor)
        .param("mails", mails)
        .update();
    return mails;
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
