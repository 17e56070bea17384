package io.quarry.monitoring;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.config.QuarryProperties;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Pipeline figures read from PostgreSQL, at most every two seconds however often they are scraped:
 * {@code quarry.dead.letters.open} (parked messages waiting for a replay or discard decision) and
 * {@code quarry.stream.users.in.progress} per stream (chains running now). Per-user figures are
 * never a metric label: the dashboard shows the top users instead. The scheduler ticks are counted
 * as they end ({@link #tick}).
 */
@Component
public class PipelineMetrics {

  private static final Duration MAX_STALENESS = Duration.ofSeconds(2);

  private record Figures(long parked, Map<String, Long> inProgress) {}

  private final JdbcClient jdbc;
  private final OpenDeadLetters deadLetters;
  private final MeterRegistry registry;
  private final Recent<Figures> figures = new Recent<>(MAX_STALENESS, this::read);

  public PipelineMetrics(
      JdbcClient jdbc,
      OpenDeadLetters deadLetters,
      QuarryProperties properties,
      MeterRegistry registry) {
    this.jdbc = jdbc;
    this.deadLetters = deadLetters;
    this.registry = registry;
    Gauge.builder("quarry.dead.letters.open", this, m -> m.figures().parked())
        .description("Dead letters parked in PostgreSQL waiting for a replay or discard")
        .register(registry);
    properties
        .streams()
        .keySet()
        .forEach(
            stream ->
                Gauge.builder(
                        "quarry.stream.users.in.progress",
                        this,
                        m -> m.figures().inProgress().getOrDefault(stream, 0L))
                    .description("Users of the stream whose mining chain is running")
                    .tag("stream", stream)
                    .register(registry));
  }

  /** Counts a scheduler tick of the stream that ended with {@code outcome}. */
  public void tick(String stream, String outcome) {
    registry.counter("quarry.scheduler.ticks", "stream", stream, "outcome", outcome).increment();
  }

  private Figures figures() {
    return figures.get();
  }

  private Figures read() {
    Map<String, Long> inProgress = new HashMap<>();
    jdbc.sql(
            "select stream, count(*) from mining_state where status = 'in_progress' group by stream")
        .query((rs, n) -> inProgress.put(rs.getString(1), rs.getLong(2)))
        .list();
    return new Figures(deadLetters.openCount(), Map.copyOf(inProgress));
  }
}
