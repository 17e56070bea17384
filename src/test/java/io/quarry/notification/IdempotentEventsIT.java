package io.quarry.notification;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * Integration events are handled once per id within the duplicate window (2 s here), again after
 * it, with the decision taken atomically in PostgreSQL; an event that cannot be read is
 * dead-lettered without stopping the consumer.
 *
 * <p>The effect of a handled resend event is visible on a failed mail with attempts left: it is put
 * back in line and leaves 'failed'. SMTP points at a closed port, so no mail leaves the machine and
 * the sender keeps the mail pending (an unreachable server costs no attempt).
 */
@QuarryIntegrationTest
@TestPropertySource(properties = "quarry.notification.duplicate-window=2s")
class IdempotentEventsIT {

  private static final String EVENTS = "direct:notification-event";
  private static final String RESEND = "ResendErrorEmailIntegrationEvent";
  private static final String DROPPED = "quarry.events.duplicates.dropped";

  private static final int CLOSED_PORT = closedPort();

  @DynamicPropertySource
  static void unreachableSmtp(DynamicPropertyRegistry registry) {
    registry.add("quarry.notification.smtp.host", () -> "127.0.0.1");
    registry.add("quarry.notification.smtp.port", () -> CLOSED_PORT);
  }

  @Autowired JdbcClient jdbc;
  @Autowired ProducerTemplate camel;
  @Autowired MeterRegistry meters;
  @Autowired Environment environment;

  @Autowired
  @Qualifier(NotificationConfig.EVENT_IDS)
  WindowedIdempotentRepository eventIds;

  @Value("${quarry.environment}")
  String env;

  @Test
  void aDuplicateWithinTheWindowIsDropped() {
    String event = event(RESEND, UUID.randomUUID());
    double droppedBefore = dropped();

    long beforeFirst = insertFailed(1);
    camel.sendBody(EVENTS, event);
    long beforeDuplicate = insertFailed(1);
    camel.sendBody(EVENTS, event);

    assertThat(dropped()).isEqualTo(droppedBefore + 1);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> status(beforeFirst), status -> !status.equals("failed"));
    await()
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(5))
        .until(
            () -> status(beforeDuplicate) + "/" + attempts(beforeDuplicate),
            state -> state.equals("failed/1"));
  }

  @Test
  void theSameIdAfterTheWindowIsProcessedAgain() {
    UUID id = UUID.randomUUID();
    long first = insertFailed(1);
    camel.sendBody(EVENTS, event(RESEND, id));
    assertThat(eventIds.contains(id.toString())).isTrue();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> status(first), status -> !status.equals("failed"));

    await().atMost(Duration.ofSeconds(10)).until(() -> !eventIds.contains(id.toString()));

    double droppedBefore = dropped();
    long second = insertFailed(1);
    camel.sendBody(EVENTS, event(RESEND, id));

    assertThat(dropped()).as("not counted as a duplicate").isEqualTo(droppedBefore);
    assertThat(eventIds.contains(id.toString())).as("remembered again").isTrue();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> status(second), status -> !status.equals("failed"));
  }

  @Test
  void theRepositoryIsSharedAndDecidesAtomically() throws Exception {
    WindowedIdempotentRepository one =
        new WindowedIdempotentRepository(jdbc, "test-processor", Duration.ofMinutes(5));
    WindowedIdempotentRepository other =
        new WindowedIdempotentRepository(jdbc, "test-processor", Duration.ofMinutes(5));
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try {
      for (int i = 0; i < 50; i++) {
        String id = UUID.randomUUID().toString();
        CyclicBarrier start = new CyclicBarrier(2);
        Future<Boolean> byOne =
            threads.submit(
                () -> {
                  start.await(5, TimeUnit.SECONDS);
                  return one.add(id);
                });
        Future<Boolean> byOther =
            threads.submit(
                () -> {
                  start.await(5, TimeUnit.SECONDS);
                  return other.add(id);
                });
        assertThat(List.of(byOne.get(10, TimeUnit.SECONDS), byOther.get(10, TimeUnit.SECONDS)))
            .as("add(%s) from two instances at once", id)
            .containsExactlyInAnyOrder(true, false);
        assertThat(one.contains(id)).isTrue();
        assertThat(other.contains(id)).isTrue();
        assertThat(one.add(id)).as("seen again within the window").isFalse();
      }
    } finally {
      threads.shutdownNow();
    }

    String id = UUID.randomUUID().toString();
    assertThat(one.add(id)).isTrue();
    WindowedIdempotentRepository anotherProcessor =
        new WindowedIdempotentRepository(jdbc, "another-processor", Duration.ofMinutes(5));
    assertThat(anotherProcessor.contains(id)).as("ids are remembered per processor").isFalse();
    assertThat(anotherProcessor.add(id)).isTrue();
  }

  @Test
  void anEventThatCannotBeReadIsDeadLetteredAndTheConsumerKeepsGoing() throws Exception {
    String exchange = "integration-events-" + env;
    String dlq = "notification.integration-events.dlq-" + env;
    long mail = insertFailed(1);

    try (Connection connection = Services.from(environment).amqp();
        Channel channel = connection.createChannel()) {
      channel.confirmSelect();
      channel.basicPublish(
          exchange, "Garbage", properties(), "{not json".getBytes(StandardCharsets.UTF_8));
      channel.basicPublish(
          exchange,
          RESEND,
          properties(),
          event(RESEND, UUID.randomUUID()).getBytes(StandardCharsets.UTF_8));
      channel.waitForConfirmsOrDie(5_000);

      // Dead-lettered at once with the parse error (never retried), then parked.
      await()
          .atMost(Duration.ofSeconds(15))
          .until(
              () ->
                  jdbc.sql("select count(*) from dead_letter where source_queue = :queue")
                          .param("queue", "notification.integration-events-" + env)
                          .query(Long.class)
                          .single()
                      == 1);
      Map<String, Object> parked =
          jdbc.sql("select * from dead_letter where source_queue = :queue")
              .param("queue", "notification.integration-events-" + env)
              .query()
              .singleRow();
      assertThat(new String((byte[]) parked.get("body"), StandardCharsets.UTF_8))
          .isEqualTo("{not json");
      assertThat((String) parked.get("reason")).contains("Unexpected character");
      assertThat(parked.get("route_id")).isEqualTo("notification-event");
      assertThat(parked.get("permanent")).isEqualTo(true);

      await()
          .atMost(Duration.ofSeconds(15))
          .until(() -> status(mail), status -> !status.equals("failed"));
      assertThat(channel.messageCount(dlq)).as("nothing left waiting in the DLQ").isZero();
    }
  }

  private static AMQP.BasicProperties properties() {
    return new AMQP.BasicProperties.Builder()
        .contentType("application/json")
        .deliveryMode(2)
        .messageId(UUID.randomUUID().toString())
        .build();
  }

  private double dropped() {
    return meters.get(DROPPED).tag("consumer", "notification-events").counter().count();
  }

  private long insertFailed(int attempts) {
    return jdbc.sql(
            """
            insert into email (recipient, subject, body, status, attempts, last_error)
            values ('dave@example.com', 'Report', 'Body', 'failed', :attempts,
                    'MessagingException: earlier')
            returning id
            """)
        .param("attempts", attempts)
        .query(Long.class)
        .single();
  }

  private int attempts(long id) {
    return jdbc.sql("select attempts from email where id = :id")
        .param("id", id)
        .query(Integer.class)
        .single();
  }

  private String status(long id) {
    return jdbc.sql("select status from email where id = :id")
        .param("id", id)
        .query(String.class)
        .single();
  }

  private static String event(String type, UUID id) {
    return """
        {"id":"%s","type":"%s","occurredAt":"%s","payload":{}}"""
        .formatted(id, type, Instant.now());
  }

  /** A loopback port nobody listens on: connecting to it is refused at once. */
  private static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
