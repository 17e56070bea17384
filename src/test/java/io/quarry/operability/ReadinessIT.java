package io.quarry.operability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.BlockedListener;
import com.rabbitmq.client.impl.AMQConnection;
import io.quarry.support.Http;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.TcpProxy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.amqp.rabbit.connection.Connection;
import org.springframework.amqp.rabbit.connection.ConnectionBlockedEvent;
import org.springframework.amqp.rabbit.connection.ConnectionFactory;
import org.springframework.amqp.rabbit.connection.ConnectionProxy;
import org.springframework.amqp.rabbit.connection.ConnectionUnblockedEvent;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Readiness tells an orchestrator the truth fast: with PostgreSQL cut (through a proxy) it answers
 * 503 without waiting for a connection, and while the broker blocks a connection (a resource alarm,
 * simulated: the shared broker's alarm must never be set) it is 503 with the broker's reason.
 *
 * <p>Requests go through {@link Http} (the JDK client), which like a kubelet sends each request
 * once: TestRestTemplate's Apache client retries a 503 after a second by itself.
 */
@QuarryIntegrationTest
class ReadinessIT {

  static final TcpProxy POSTGRES = startProxy();
  static final ObjectMapper JSON = new ObjectMapper();
  static final String READINESS = "/actuator/health/readiness";

  @DynamicPropertySource
  static void throughTheProxy(DynamicPropertyRegistry registry) {
    registry.add("quarry.database.port", POSTGRES::port);
  }

  @LocalServerPort int port;
  @Autowired ApplicationEventPublisher events;
  @Autowired CachingConnectionFactory connectionFactory;

  @Value("${quarry.environment}")
  String environment;

  Http http;

  @BeforeEach
  void readyToStart() {
    http = new Http(port);
    await().atMost(Duration.ofSeconds(30)).until(() -> status(READINESS) == 200);
  }

  @Test
  void readinessChecksTheFastContributorsNotSpringsDb() {
    JsonNode readiness = admin(READINESS);

    assertThat(readiness.path("components").fieldNames())
        .toIterable()
        .containsExactlyInAnyOrder(
            "readinessState", "dbProbe", "rabbit", "camelHealth", "brokerPublishing");
  }

  @Test
  void readinessAnswersAtOnceWhilePostgresIsCut() {
    try {
      POSTGRES.cut();
      await().atMost(Duration.ofSeconds(10)).until(() -> status(READINESS) == 503);

      for (int i = 0; i < 3; i++) {
        long start = System.nanoTime();
        int status = status(READINESS);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(status).isEqualTo(503);
        assertThat(millis).as("readiness answered in %d ms", millis).isLessThan(1000);
      }
      JsonNode probe = admin(READINESS).path("components").path("dbProbe");
      assertThat(probe.path("status").asText()).isEqualTo("DOWN");
      assertThat(probe.path("details").path("error").asText()).isNotBlank();
      assertThat(probe.path("details").path("lastSuccess").asText()).isNotBlank();
      assertThat(status("/actuator/health/liveness")).isEqualTo(200);
    } finally {
      POSTGRES.restore();
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> status(READINESS) == 200);
  }

  @Test
  void readinessIsOutOfServiceWhileTheBrokerBlocksAConnection() {
    Connection publisher = target(connectionFactory.getPublisherConnectionFactory());

    events.publishEvent(new ConnectionBlockedEvent(publisher, "low on memory"));
    try {
      assertThat(status(READINESS)).isEqualTo(503);
      assertThat(status("/actuator/health/liveness")).isEqualTo(200);
      assertBlocked("low on memory");
    } finally {
      events.publishEvent(new ConnectionUnblockedEvent(publisher));
    }

    assertThat(status(READINESS)).isEqualTo(200);
  }

  /**
   * The wiring, for both connections: amqp-client calls a connection's blocked listeners when the
   * broker sends connection.blocked, and Spring AMQP registers its listener only on connections of
   * a factory that knew the event publisher when it connected (the publisher connection's factory
   * is handed it by the main one). Calling those listeners is what a real alarm does.
   */
  @Test
  void theBrokersNoticeOnEitherConnectionReachesReadiness() throws ReflectiveOperationException {
    for (ConnectionFactory factory :
        List.of(connectionFactory, connectionFactory.getPublisherConnectionFactory())) {
      List<BlockedListener> listeners = blockedListeners(target(factory));
      assertThat(listeners).as("blocked listeners of %s", factory).isNotEmpty();

      listeners.forEach(listener -> blocked(listener, "low on disk"));
      try {
        assertThat(status(READINESS)).isEqualTo(503);
        assertBlocked("low on disk");
      } finally {
        listeners.forEach(ReadinessIT::unblocked);
      }
      assertThat(status(READINESS)).isEqualTo(200);
    }
  }

  private void assertBlocked(String reason) {
    HttpResponse<String> response = http.get("/actuator/health", "admin", "test-admin-password");
    assertThat(response.statusCode()).isEqualTo(503);
    JsonNode health = json(response.body());
    assertThat(health.path("status").asText()).isEqualTo("OUT_OF_SERVICE");
    JsonNode publishing = health.path("components").path("brokerPublishing");
    assertThat(publishing.path("status").asText()).isEqualTo("OUT_OF_SERVICE");
    JsonNode blocked = publishing.path("details").path("blocked");
    assertThat(blocked.size()).isEqualTo(1);
    assertThat(blocked.get(0).path("reason").asText()).isEqualTo(reason);
    assertThat(blocked.get(0).path("connection").asText()).startsWith("quarry-" + environment);
    assertThat(blocked.get(0).path("since").asText()).isNotBlank();
  }

  private int status(String path) {
    return http.get(path).statusCode();
  }

  private JsonNode admin(String path) {
    return json(http.get(path, "admin", "test-admin-password").body());
  }

  private static JsonNode json(String body) {
    try {
      return JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("not JSON: " + body, e);
    }
  }

  /** The broker connection behind the factory's cached proxy, as Spring AMQP's events carry it. */
  private static Connection target(ConnectionFactory factory) {
    return ((ConnectionProxy) factory.createConnection()).getTargetConnection();
  }

  @SuppressWarnings("unchecked")
  private static List<BlockedListener> blockedListeners(Connection connection)
      throws ReflectiveOperationException {
    Field field = AMQConnection.class.getDeclaredField("blockedListeners");
    field.setAccessible(true);
    return new ArrayList<>((Collection<BlockedListener>) field.get(connection.getDelegate()));
  }

  private static void blocked(BlockedListener listener, String reason) {
    try {
      listener.handleBlocked(reason);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void unblocked(BlockedListener listener) {
    try {
      listener.handleUnblocked();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static TcpProxy startProxy() {
    try {
      return new TcpProxy("127.0.0.1", 5432);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
