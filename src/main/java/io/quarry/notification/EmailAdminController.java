package io.quarry.notification;

import java.security.Principal;
import java.time.Instant;
import java.util.List;
import org.hibernate.validator.constraints.Range;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The mail API behind the dashboard's email section: {@code GET /api/email} (counts, backlog and
 * the failed mails with the server's reply) for anyone logged in; {@code POST
 * /api/email/requeue-failed} puts every failed mail back in line ({@code ?permanent=false}: all but
 * those the server refused for good), for the admin role only (SecurityConfig), with a CSRF token,
 * audited in {@code email_action}.
 */
@RestController
@RequestMapping("/api/email")
public class EmailAdminController {

  private static final Logger log = LoggerFactory.getLogger(EmailAdminController.class);

  /**
   * The email section of the dashboard.
   *
   * @param oldestPendingSeconds age of the oldest mail not yet delivered, 0 when none waits
   */
  public record Overview(
      Instant at,
      EmailStatus.Counts counts,
      double oldestPendingSeconds,
      List<EmailStatus.FailedMail> failed) {}

  /** What a bulk re-queue did. */
  public record Requeued(int requeued, String by) {}

  private final EmailStatus status;
  private final EmailRepository emails;

  public EmailAdminController(EmailStatus status, EmailRepository emails) {
    this.status = status;
    this.emails = emails;
  }

  @GetMapping
  public Overview overview(
      @RequestParam(defaultValue = "50") @Range(min = 1, max = 500) int limit) {
    EmailStatus.Backlog backlog = status.backlog();
    return new Overview(
        Instant.now(),
        status.counts(),
        backlog.oldestAge().toMillis() / 1000.0,
        status.failed(limit));
  }

  @PostMapping("/requeue-failed")
  public Requeued requeueFailed(
      Principal user, @RequestParam(defaultValue = "true") boolean permanent) {
    int mails = emails.requeueFailedByOperator(user.getName(), permanent);
    log.info(
        "{} re-queued {} failed mails{}",
        user.getName(),
        mails,
        permanent ? "" : " (permanent failures left out)");
    return new Requeued(mails, user.getName());
  }
}
