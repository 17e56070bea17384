package io.quarry.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.rabbit.connection.Connection;
import org.springframework.amqp.rabbit.connection.ConnectionBlockedEvent;
import org.springframework.amqp.rabbit.connection.ConnectionUnblockedEvent;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.Status;

/** brokerPublishing follows the broker's blocked / unblocked notices of each connection. */
class BrokerPublishingTest {

  private static final Instant T0 = Instant.parse("2025-01-01T12:00:00Z");

  private final BrokerPublishing publishing = new BrokerPublishing(Clock.fixed(T0, ZoneOffset.UTC));

  @Test
  void isUpWhileNothingIsBlocked() {
    assertThat(publishing.health().getStatus()).isEqualTo(Status.UP);
  }

  @Test
  void aBlockedConnectionIsOutOfServiceWithTheReasonAndSinceWhen() {
    Connection publisher = connection("quarry-dev.publisher", 51234);

    publishing.blocked(new ConnectionBlockedEvent(publisher, "low on memory"));

    Health health = publishing.health();
    assertThat(health.getStatus()).isEqualTo(Status.OUT_OF_SERVICE);
    assertThat(blocked(health))
        .containsExactly(
            Map.of(
                "connection", "quarry-dev.publisher (local port 51234)",
                "reason", "low on memory",
                "since", T0.toString()));
  }

  @Test
  void anUnblockedConnectionIsUpAgain() {
    Connection publisher = connection("quarry-dev.publisher", 51234);
    publishing.blocked(new ConnectionBlockedEvent(publisher, "low on memory"));

    publishing.unblocked(new ConnectionUnblockedEvent(publisher));

    assertThat(publishing.health().getStatus()).isEqualTo(Status.UP);
  }

  @Test
  void staysOutOfServiceUntilEveryConnectionIsUnblocked() {
    Connection publisher = connection("quarry-dev.publisher", 51234);
    Connection consumer = connection("quarry-dev", 51235);
    publishing.blocked(new ConnectionBlockedEvent(publisher, "low on memory"));
    publishing.blocked(new ConnectionBlockedEvent(consumer, "low on disk"));

    publishing.unblocked(new ConnectionUnblockedEvent(publisher));

    Health health = publishing.health();
    assertThat(health.getStatus()).isEqualTo(Status.OUT_OF_SERVICE);
    assertThat(blocked(health))
        .singleElement()
        .satisfies(
            b ->
                assertThat(b)
                    .containsEntry("connection", "quarry-dev (local port 51235)")
                    .containsEntry("reason", "low on disk"));
  }

  @Test
  void aConnectionClosedWhileBlockedNoLongerCounts() {
    Connection publisher = connection("quarry-dev.publisher", 51234);
    publishing.blocked(new ConnectionBlockedEvent(publisher, "low on memory"));

    when(publisher.isOpen()).thenReturn(false); // closed: no unblocked notice will ever come

    assertThat(publishing.health().getStatus()).isEqualTo(Status.UP);
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, String>> blocked(Health health) {
    return (List<Map<String, String>>) health.getDetails().get("blocked");
  }

  private static Connection connection(String name, int localPort) {
    com.rabbitmq.client.Connection delegate = mock(com.rabbitmq.client.Connection.class);
    when(delegate.getClientProvidedName()).thenReturn(name);
    Connection connection = mock(Connection.class);
    when(connection.getDelegate()).thenReturn(delegate);
    when(connection.getLocalPort()).thenReturn(localPort);
    when(connection.isOpen()).thenReturn(true);
    return connection;
  }
}
