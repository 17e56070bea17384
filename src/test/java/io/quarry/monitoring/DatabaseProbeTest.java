package io.quarry.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.quarry.support.MutableClock;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.Status;

/** dbProbe answers from the last background probe: a hanging or failing probe is DOWN. */
class DatabaseProbeTest {

  private static final Instant T0 = Instant.parse("2025-01-01T12:00:00Z");

  private final MutableClock clock = new MutableClock(T0);
  private final DataSource dataSource = mock(DataSource.class);
  private final Connection connection = mock(Connection.class);
  private final DatabaseProbe probe =
      new DatabaseProbe(dataSource, Duration.ofSeconds(1), Duration.ofSeconds(1), clock);

  @Test
  void isDownUntilTheFirstProbeHasFinished() {
    Health health = probe.health();

    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
    assertThat(health.getDetails()).containsEntry("error", "not probed yet");
  }

  @Test
  void aValidConnectionIsUpWithTheTimeOfTheSuccess() throws SQLException {
    when(dataSource.getConnection()).thenReturn(connection);
    when(connection.isValid(1)).thenReturn(true);

    probe.probe();

    Health health = probe.health();
    assertThat(health.getStatus()).isEqualTo(Status.UP);
    assertThat(health.getDetails())
        .containsEntry("lastSuccess", T0.toString())
        .doesNotContainKey("error");
    verify(connection).close(); // back to the pool
  }

  @Test
  void aFailedProbeIsDownWithItsErrorAndTheLastSuccess() throws SQLException {
    when(dataSource.getConnection())
        .thenReturn(connection)
        .thenThrow(
            new SQLTransientConnectionException(
                "quarry-db - Connection is not available, request timed out after 2000ms"));
    when(connection.isValid(1)).thenReturn(true);
    probe.probe();
    clock.advance(Duration.ofSeconds(3));

    probe.probe();

    Health health = probe.health();
    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
    assertThat(health.getDetails())
        .containsEntry("lastSuccess", T0.toString())
        .hasEntrySatisfying(
            "error", error -> assertThat((String) error).contains("request timed out"));
  }

  @Test
  void anInvalidConnectionIsDown() throws SQLException {
    when(dataSource.getConnection()).thenReturn(connection);
    when(connection.isValid(1)).thenReturn(false);

    probe.probe();

    Health health = probe.health();
    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
    assertThat(health.getDetails()).containsEntry("error", "connection not valid within 1s");
  }

  @Test
  void aProbeInFlightLongerThanTheTimeoutIsDownWhileItStillHangs() throws SQLException {
    when(dataSource.getConnection()).thenReturn(connection);
    when(connection.isValid(1)).thenReturn(true);
    probe.probe();
    List<Health> seenWhileHanging = new ArrayList<>();
    when(dataSource.getConnection())
        .thenAnswer(
            invocation -> {
              clock.advance(Duration.ofMillis(900));
              seenWhileHanging.add(probe.health());
              clock.advance(Duration.ofMillis(200));
              seenWhileHanging.add(probe.health());
              return connection;
            });
    clock.advance(Duration.ofSeconds(1));

    probe.probe();

    assertThat(seenWhileHanging.get(0).getStatus()).as("in flight 900 ms").isEqualTo(Status.UP);
    assertThat(seenWhileHanging.get(1).getStatus()).as("in flight 1.1 s").isEqualTo(Status.DOWN);
    assertThat(seenWhileHanging.get(1).getDetails())
        .containsEntry("lastSuccess", T0.toString())
        .hasEntrySatisfying(
            "error",
            error ->
                assertThat((String) error)
                    .contains("within 1000 ms")
                    .contains("in flight since " + T0.plusSeconds(1)));
    assertThat(probe.health().getStatus()).as("answered at last").isEqualTo(Status.UP);
  }

  @Test
  void theProbeThreadRunsFromStartToStop() throws SQLException {
    when(dataSource.getConnection()).thenReturn(connection);
    when(connection.isValid(1)).thenReturn(true);
    DatabaseProbe running =
        new DatabaseProbe(dataSource, Duration.ofMillis(100), Duration.ofSeconds(1), clock);

    running.start();
    try {
      assertThat(running.isRunning()).isTrue();
      await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> running.health().getStatus().equals(Status.UP));
    } finally {
      running.stop();
    }
    assertThat(running.isRunning()).isFalse();
  }
}
