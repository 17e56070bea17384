package io.quarry.notification;

import io.quarry.config.NotificationProperties;
import io.quarry.config.QuarryProperties;
import java.time.Clock;
import java.time.Instant;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Records the outcome of one SMTP delivery attempt for the sender route: sent; or failed, by what
 * the server replied ({@link SmtpFailure}): a permanent failure is final, a transient one is tried
 * again with backoff until the attempts run out, and while the server cannot be reached the mail
 * waits without losing an attempt, and the rest of the batch is not even tried.
 */
@Component
public class EmailDelivery {

  public static final String EMAIL_ID = "quarryEmailId";

  private static final Logger log = LoggerFactory.getLogger(EmailDelivery.class);

  private final EmailRepository emails;
  private final EmailMetrics metrics;
  private final NotificationProperties settings;
  private final Clock clock;
  private volatile Instant unreachableUntil = Instant.MIN;

  public EmailDelivery(
      EmailRepository emails, EmailMetrics metrics, QuarryProperties properties, Clock clock) {
    this.emails = emails;
    this.metrics = metrics;
    this.settings = properties.notification();
    this.clock = clock;
  }

  public void sent(@Header(EMAIL_ID) long id) {
    emails.markSent(id);
    unreachableUntil = Instant.MIN;
    metrics.sent();
  }

  /** Classifies the failure, records it on the mail row and counts it; returns the failure. */
  public SmtpFailure failed(
      @Header(EMAIL_ID) long id, @ExchangeProperty(Exchange.EXCEPTION_CAUGHT) Exception error) {
    SmtpFailure failure = SmtpFailure.of(error);
    switch (failure.kind()) {
      case PERMANENT -> {
        emails.markPermanentlyFailed(id, failure.code(), failure.reply());
        log.warn("Email {} failed for good, not retried: {}", id, failure.reply());
      }
      case TRANSIENT -> {
        emails.retryLater(
            id,
            failure.code(),
            failure.reply(),
            settings.retryBackoff(),
            settings.maxRetryBackoff(),
            settings.maxAttempts());
        log.warn("Email {} failed, retried later while attempts are left: {}", id, failure.reply());
      }
      case UNREACHABLE -> {
        unreachableUntil = clock.instant().plus(settings.unreachableRetry());
        emails.postpone(id, failure.reply(), settings.unreachableRetry());
        log.warn(
            "SMTP server unreachable, email {} and the rest wait {} without losing an attempt: {}",
            id,
            settings.unreachableRetry(),
            failure.reply());
      }
    }
    metrics.failed(failure.kind());
    return failure;
  }

  /** True for a while after the server could not be reached: mails are postponed untried. */
  public boolean serverUnreachable() {
    return clock.instant().isBefore(unreachableUntil);
  }

  /** Puts a claimed mail back untried (the server is unreachable), its attempt given back. */
  public void postpone(@Header(EMAIL_ID) long id) {
    emails.postpone(id, null, settings.unreachableRetry());
  }
}
