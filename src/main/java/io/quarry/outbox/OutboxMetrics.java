package io.quarry.outbox;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.monitoring.Recent;
import java.time.Duration;
import org.springframework.stereotype.Component;

/**
 * {@code quarry.outbox.pending} and {@code quarry.outbox.oldest.pending.age} (seconds), read from
 * the database at most every two seconds however often they are scraped.
 */
@Component
public class OutboxMetrics {

  private static final Duration MAX_STALENESS = Duration.ofSeconds(2);

  private final Recent<OutboxRepository.Backlog> backlog;

  public OutboxMetrics(OutboxRepository outbox, MeterRegistry registry) {
    this.backlog = new Recent<>(MAX_STALENESS, outbox::backlog);
    Gauge.builder("quarry.outbox.pending", this, m -> m.backlog().pending())
        .description("Integration events written but not yet confirmed by the broker")
        .register(registry);
    Gauge.builder(
            "quarry.outbox.oldest.pending.age",
            this,
            m -> m.backlog().oldestAge().toMillis() / 1000.0)
        .description("Age of the oldest unpublished integration event")
        .baseUnit("seconds")
        .register(registry);
  }

  public OutboxRepository.Backlog backlog() {
    return backlog.get();
  }
}
