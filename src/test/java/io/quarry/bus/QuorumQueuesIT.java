package io.quarry.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.outbox.IntegrationEvent;
import io.quarry.outbox.OutboxMessages;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.env.Environment;
import org.springframework.test.context.TestPropertySource;

/**
 * Quorum queues on the real broker (one node here; bench/cluster and bench/run chaos for three):
 * every queue is declared quorum, dead-letters at least once, a delay tier still sends a message
 * back after its TTL, and a high-priority event is handled before the normal events queued before
 * it, although quorum queues have no priorities. Camel's routes start only where a test starts
 * them, so nothing else takes the probe messages.
 */
@QuarryIntegrationTest
@TestPropertySource(
    properties = {
      "camel.main.auto-startup=false",
      "quarry.rabbitmq.queue-types.work=quorum",
      "quarry.rabbitmq.queue-types.events=quorum",
      "quarry.rabbitmq.queue-types.dead-letter=quorum",
      "quarry.rabbitmq.queue-types.delay=quorum"
    })
class QuorumQueuesIT {

  static final int NORMAL_EVENTS = 400;

  @Autowired Environment environment;
  @Autowired CamelContext camel;
  @Autowired OutboxMessages messages;
  @Autowired BatchPublisher publisher;
  @Autowired ObjectMapper json;

  @Value("${quarry.environment}")
  String env;

  @Test
  void everyQueueIsAQuorumQueueThatDeadLettersAtLeastOnce() {
    Services services = Services.from(environment);
    for (String base :
        List.of(
            "posts-mining-queue",
            "posts-data-topic.raw-storage",
            "notification.integration-events",
            "notification.integration-events.high")) {
      Map<String, Object> queue = services.queue(base + "-" + env).orElseThrow();
      assertThat(queue.get("type")).as(base).isEqualTo("quorum");
      assertThat(arguments(queue))
          .as(base)
          .containsEntry("x-dead-letter-strategy", "at-least-once")
          .containsEntry("x-overflow", "reject-publish")
          .doesNotContainKey("x-max-priority");
      Map<String, Object> dlq = services.queue(base + ".dlq-" + env).orElseThrow();
      assertThat(dlq.get("type")).as(base + ".dlq").isEqualTo("quorum");
    }
    Map<String, Object> delay = services.queue("delay-1s-" + env).orElseThrow();
    assertThat(delay.get("type")).isEqualTo("quorum");
    assertThat(arguments(delay)).containsEntry("x-message-ttl", 1000);
  }

  @Test
  void aRejectedMessageReachesItsDlqAndADelayedOneComesBackAfterItsTtl() throws Exception {
    try (Connection connection = Services.from(environment).amqp();
        Channel channel = connection.createChannel()) {
      String queue = "ads-mining-queue-" + env;
      channel.basicPublish("", queue, persistent(), bytes("poison"));
      GetResponse got = awaitMessage(channel, queue, false);
      channel.basicReject(got.getEnvelope().getDeliveryTag(), false);
      GetResponse dead = awaitMessage(channel, "ads-mining-queue.dlq-" + env, true);
      assertThat(new String(dead.getBody(), StandardCharsets.UTF_8)).isEqualTo("poison");

      long sent = System.nanoTime();
      channel.basicPublish("delay-1s-" + env, queue, persistent(), bytes("later"));
      GetResponse back = awaitMessage(channel, queue, true);
      assertThat(new String(back.getBody(), StandardCharsets.UTF_8)).isEqualTo("later");
      assertThat(Duration.ofNanos(System.nanoTime() - sent)).isGreaterThanOrEqualTo(ms(900));
    }
  }

  @Test
  void aHighPriorityEventIsHandledBeforeTheNormalEventsQueuedBeforeIt() throws Exception {
    List<String> handled = Collections.synchronizedList(new ArrayList<>());
    EventNotifierSupport recorder =
        new EventNotifierSupport() {
          @Override
          public void notify(CamelEvent event) {
            var exchange = ((CamelEvent.ExchangeCompletedEvent) event).getExchange();
            String route = exchange.getFromRouteId();
            if (route != null && route.startsWith("notification-events")) {
              handled.add(route);
            }
          }

          @Override
          public boolean isEnabled(CamelEvent event) {
            return event instanceof CamelEvent.ExchangeCompletedEvent;
          }
        };
    recorder.start();
    camel.getManagementStrategy().addEventNotifier(recorder);
    try {
      for (String route :
          List.of("notification-event", "notification-events", "notification-events-high")) {
        camel.getRouteController().startRoute(route);
      }
      List<Map<String, Object>> normal = new ArrayList<>();
      for (int i = 0; i < NORMAL_EVENTS; i++) {
        normal.add(row("CleanUpSentEmailIntegrationEvent", 5));
      }
      publisher.publishAll(messages.toMessages(normal), 10_000);
      publisher.publishAll(
          messages.toMessages(List.of(row("ResendErrorEmailIntegrationEvent", 10))), 10_000);

      await().atMost(Duration.ofSeconds(60)).until(() -> handled.size() == NORMAL_EVENTS + 1);
      assertThat(handled)
          .as("the high-priority event came through the consumer of its own queue")
          .containsOnlyOnce("notification-events-high");
      int position = handled.indexOf("notification-events-high");
      assertThat(position)
          .as(
              "normal events handled before the high-priority one, of %d queued before it",
              NORMAL_EVENTS)
          .isBetween(0, NORMAL_EVENTS / 2);
    } finally {
      camel.getManagementStrategy().removeEventNotifier(recorder);
      for (String route :
          List.of("notification-events-high", "notification-events", "notification-event")) {
        camel.getRouteController().stopRoute(route);
      }
    }
  }

  private Map<String, Object> row(String type, int priority) throws Exception {
    IntegrationEvent event = new IntegrationEvent(UUID.randomUUID(), type, Instant.now(), Map.of());
    return Map.of(
        "id", event.id(),
        "routing_key", type,
        "event_type", type,
        "payload", json.writeValueAsString(event),
        "priority", priority);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> arguments(Map<String, Object> queue) {
    return (Map<String, Object>) queue.get("arguments");
  }

  private static AMQP.BasicProperties persistent() {
    return new AMQP.BasicProperties.Builder().deliveryMode(2).build();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static Duration ms(long millis) {
    return Duration.ofMillis(millis);
  }

  private static GetResponse awaitMessage(Channel channel, String queue, boolean autoAck) {
    GetResponse[] holder = new GetResponse[1];
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> (holder[0] = channel.basicGet(queue, autoAck)) != null);
    return holder[0];
  }
}
