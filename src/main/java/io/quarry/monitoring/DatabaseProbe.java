package io.quarry.monitoring;

import io.quarry.config.QuarryProperties;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * {@code dbProbe}: readiness must answer at once even while getting a connection hangs, so it reads
 * what a background probe last saw (DOWN once a probe failed or is in flight past the timeout).
 */
@Component("dbProbe")
public class DatabaseProbe implements HealthIndicator, SmartLifecycle {

  private static final Logger log = LoggerFactory.getLogger(DatabaseProbe.class);

  /**
   * What the probe thread last saw. Written by the probe thread only, read by health requests.
   *
   * @param inFlightSince when the probe now running started, or null between probes
   * @param lastSuccess when a probe last succeeded, or null if none has
   * @param error the last probe's error, or null if it succeeded (or none has finished)
   */
  private record State(Instant inFlightSince, Instant lastSuccess, String error) {}

  private final DataSource dataSource;
  private final Clock clock;
  private final Duration interval;
  private final Duration timeout;
  private volatile State state = new State(null, null, null);
  private ScheduledExecutorService prober;

  @Autowired
  public DatabaseProbe(DataSource dataSource, QuarryProperties properties, Clock clock) {
    this(
        dataSource,
        properties.database().probeInterval(),
        properties.database().probeTimeout(),
        clock);
  }

  DatabaseProbe(DataSource dataSource, Duration interval, Duration timeout, Clock clock) {
    this.dataSource = dataSource;
    this.interval = interval;
    this.timeout = timeout;
    this.clock = clock;
  }

  @Override
  public Health health() {
    State current = state;
    Instant now = clock.instant();
    Health.Builder health;
    if (current.inFlightSince() != null
        && Duration.between(current.inFlightSince(), now).compareTo(timeout) > 0) {
      health =
          Health.down()
              .withDetail(
                  "error",
                  "no answer from the database within "
                      + timeout.toMillis()
                      + " ms (probe in flight since "
                      + current.inFlightSince()
                      + ")");
    } else if (current.lastSuccess() == null && current.error() == null) {
      health = Health.down().withDetail("error", "not probed yet");
    } else if (current.error() != null) {
      health = Health.down().withDetail("error", current.error());
    } else {
      health = Health.up();
    }
    if (current.lastSuccess() != null) {
      health.withDetail("lastSuccess", current.lastSuccess().toString());
    }
    return health.build();
  }

  /**
   * Borrows a connection and validates it; runs on the probe thread (and in tests). Should it ever
   * die of an Error, the probe stays in flight, so readiness turns DOWN rather than freezing UP.
   */
  void probe() {
    State before = state;
    state = new State(clock.instant(), before.lastSuccess(), before.error());
    String error = null;
    try (Connection connection = dataSource.getConnection()) {
      int seconds = (int) Math.max(1, (timeout.toMillis() + 999) / 1000);
      if (!connection.isValid(seconds)) {
        error = "connection not valid within " + seconds + "s";
      }
    } catch (SQLException | RuntimeException e) {
      error = e.toString();
    }
    Instant finished = clock.instant();
    if (error == null) {
      state = new State(null, finished, null);
      if (before.error() != null) {
        log.info("Database probe succeeds again: readiness is back");
      }
    } else {
      state = new State(null, before.lastSuccess(), error);
      if (before.error() == null) {
        log.warn("Database probe failed, readiness is DOWN: {}", error);
      }
    }
  }

  @Override
  public synchronized void start() {
    if (prober != null) {
      return;
    }
    prober =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread thread = new Thread(r, "quarry-db-probe");
              thread.setDaemon(true);
              return thread;
            });
    prober.scheduleWithFixedDelay(this::probe, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void stop() {
    if (prober != null) {
      prober.shutdownNow();
      prober = null;
    }
  }

  @Override
  public synchronized boolean isRunning() {
    return prober != null;
  }
}
