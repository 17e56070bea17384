package io.quarry.notification;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.monitoring.Recent;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.springframework.stereotype.Component;

/**
 * The mail meters: {@code quarry.email.sent} and {@code quarry.email.failed} (tag {@code class}:
 * permanent, transient, unreachable) counted by this instance's sender, and {@code
 * quarry.email.pending} and {@code quarry.email.oldest.pending.age} (seconds) read from the
 * database at most every two seconds, so they hold across restarts and are the same on every
 * instance.
 */
@Component
public class EmailMetrics {

  private static final Duration MAX_STALENESS = Duration.ofSeconds(2);

  private final Counter sent;
  private final Map<SmtpFailure.Kind, Counter> failed = new EnumMap<>(SmtpFailure.Kind.class);
  private final Recent<EmailStatus.Backlog> backlog;

  public EmailMetrics(EmailStatus status, MeterRegistry registry) {
    this.sent =
        Counter.builder("quarry.email.sent")
            .description("Mails the SMTP server accepted")
            .register(registry);
    for (SmtpFailure.Kind kind : SmtpFailure.Kind.values()) {
      failed.put(
          kind,
          Counter.builder("quarry.email.failed")
              .description("Delivery attempts that failed, by what the failure means")
              .tag("class", kind.label())
              .register(registry));
    }
    this.backlog = new Recent<>(MAX_STALENESS, status::backlog);
    Gauge.builder("quarry.email.pending", this, m -> m.backlog().pending())
        .description("Mails waiting for delivery or being delivered")
        .register(registry);
    Gauge.builder(
            "quarry.email.oldest.pending.age",
            this,
            m -> m.backlog().oldestAge().toMillis() / 1000.0)
        .description("Age of the oldest mail not yet delivered")
        .baseUnit("seconds")
        .register(registry);
  }

  void sent() {
    sent.increment();
  }

  void failed(SmtpFailure.Kind kind) {
    failed.get(kind).increment();
  }

  public EmailStatus.Backlog backlog() {
    return backlog.get();
  }
}
