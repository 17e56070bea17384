package io.quarry.outbox;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.stereotype.Component;

/**
 * {@code quarry.outbox.pending} and {@code quarry.outbox.oldest.pending.age} (seconds), read from
 * the database at most every two seconds however often they are scraped.
 */
@Component
public class OutboxMetrics {

  private static final Duration MAX_STALENESS = Duration.ofSeconds(2);

  private final OutboxRepository outbox;
  private final AtomicReference<Snapshot> last =
      new AtomicReference<>(new Snapshot(Instant.EPOCH, null));

  private record Snapshot(Instant readAt, OutboxRepository.Backlog backlog) {}

  public OutboxMetrics(OutboxRepository outbox, MeterRegistry registry) {
    this.outbox = outbox;
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
    Snapshot snapshot = last.get();
    if (snapshot.backlog() == null
        || snapshot.readAt().plus(MAX_STALENESS).isBefore(Instant.now())) {
      snapshot = new Snapshot(Instant.now(), outbox.backlog());
      last.set(snapshot);
    }
    return snapshot.backlog();
  }
}
