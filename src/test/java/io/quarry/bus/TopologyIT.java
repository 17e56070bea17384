package io.quarry.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.env.Environment;
import org.springframework.test.context.TestPropertySource;

/**
 * What the broker holds after start-up, seen through the management API and plain AMQP. Camel's
 * routes stay stopped, so Quarry's own consumers do not take the probe messages.
 */
@QuarryIntegrationTest
@TestPropertySource(properties = "camel.main.auto-startup=false")
class TopologyIT {

  /**
   * Work queues of docs/architecture.md (Names on the bus), written out here rather than read from
   * our own code.
   */
  static final List<String> WORK_QUEUES =
      Stream.concat(
              Stream.of(
                  "posts-mining-queue",
                  "ads-mining-queue",
                  "ad-clicks-mining-queue",
                  "ad-clicks-parser-queue",
                  "notification.integration-events"),
              Stream.of("posts", "ads", "ad-clicks")
                  .flatMap(
                      s ->
                          Stream.of("raw-storage", "analytics", "notification")
                              .map(sub -> s + "-data-topic." + sub)))
          .toList();

  @Autowired Environment environment;
  @Autowired CachingConnectionFactory connectionFactory;
  @Autowired TopologyDeclarer declarer;

  @Value("${quarry.environment}")
  String env;

  Services services;

  @BeforeEach
  void setUp() {
    services = Services.from(environment);
  }

  @Test
  void everyWorkQueueIsDurableAndDeadLettersIntoItsOwnDlq() {
    assertThat(WORK_QUEUES).hasSize(14);
    for (String base : WORK_QUEUES) {
      Map<String, Object> queue =
          services.queue(base + "-" + env).orElseThrow(() -> new AssertionError(base + " missing"));
      assertThat(queue.get("durable")).as(base + " durable").isEqualTo(true);
      assertThat(queue.get("auto_delete")).as(base + " auto-delete").isEqualTo(false);
      @SuppressWarnings("unchecked")
      Map<String, Object> arguments = (Map<String, Object>) queue.get("arguments");
      assertThat(arguments)
          .as(base + " arguments")
          .containsEntry("x-dead-letter-exchange", "dead-letters-" + env)
          .containsEntry("x-dead-letter-routing-key", base + ".dlq-" + env);

      Map<String, Object> dlq =
          services
              .queue(base + ".dlq-" + env)
              .orElseThrow(() -> new AssertionError(base + ".dlq missing"));
      assertThat(dlq.get("durable")).as(base + ".dlq durable").isEqualTo(true);
      assertThat(services.bindingsOf(base + ".dlq-" + env))
          .as(base + ".dlq bound to the dead-letter exchange")
          .anySatisfy(
              b -> {
                assertThat(b.get("source")).isEqualTo("dead-letters-" + env);
                assertThat(b.get("routing_key")).isEqualTo(base + ".dlq-" + env);
              });
    }
  }

  @Test
  void dataTopicsAreFanoutExchangesAndEventsATopicExchange() {
    for (String stream : List.of("posts", "ads", "ad-clicks")) {
      Map<String, Object> exchange = services.exchange(stream + "-data-topic-" + env).orElseThrow();
      assertThat(exchange.get("type")).isEqualTo("fanout");
      assertThat(exchange.get("durable")).isEqualTo(true);
    }
    Map<String, Object> events = services.exchange("integration-events-" + env).orElseThrow();
    assertThat(events.get("type")).isEqualTo("topic");
    Map<String, Object> eventsQueue =
        services.queue("notification.integration-events-" + env).orElseThrow();
    @SuppressWarnings("unchecked")
    Map<String, Object> eventArgs = (Map<String, Object>) eventsQueue.get("arguments");
    assertThat(eventArgs).containsEntry("x-max-priority", 10);
  }

  @Test
  void aDataTopicMessageReachesEverySubscriberQueue() throws Exception {
    try (Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      channel.basicPublish(
          "ads-data-topic-" + env, "", persistent(), "batch".getBytes(StandardCharsets.UTF_8));
      for (String subscriber : List.of("raw-storage", "analytics", "notification")) {
        String queue = "ads-data-topic." + subscriber + "-" + env;
        GetResponse got = awaitMessage(channel, queue);
        assertThat(new String(got.getBody(), StandardCharsets.UTF_8)).isEqualTo("batch");
      }
    }
  }

  @Test
  void aRejectedMessageLandsInTheQueuesDeadLetterQueue() throws Exception {
    try (Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      String queue = "ad-clicks-mining-queue-" + env;
      channel.basicPublish("", queue, persistent(), "poison".getBytes(StandardCharsets.UTF_8));
      GetResponse got = awaitMessage(channel, queue, false);
      channel.basicReject(got.getEnvelope().getDeliveryTag(), false);

      GetResponse dead = awaitMessage(channel, "ad-clicks-mining-queue.dlq-" + env);
      assertThat(new String(dead.getBody(), StandardCharsets.UTF_8)).isEqualTo("poison");
    }
  }

  @Test
  void anEventRoutedByTypeReachesTheNotificationQueue() throws Exception {
    try (Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      channel.basicPublish(
          "integration-events-" + env,
          "CleanUpSentEmailIntegrationEvent",
          persistent(),
          "{}".getBytes(StandardCharsets.UTF_8));
      assertThat(awaitMessage(channel, "notification.integration-events-" + env)).isNotNull();
    }
  }

  @Test
  void declaringAgainIsHarmlessAndKeepsWaitingMessages() throws Exception {
    try (Connection connection = services.amqp();
        Channel channel = connection.createChannel()) {
      String queue = "posts-mining-queue-" + env;
      channel.queuePurge(queue);
      channel.basicPublish("", queue, persistent(), "{}".getBytes(StandardCharsets.UTF_8));
      await().until(() -> channel.messageCount(queue) == 1);

      declarer.declare(connectionFactory.createConnection());

      assertThat(channel.messageCount(queue)).isEqualTo(1);
      channel.queuePurge(queue);
    }
  }

  private static AMQP.BasicProperties persistent() {
    return new AMQP.BasicProperties.Builder().deliveryMode(2).build();
  }

  private static GetResponse awaitMessage(Channel channel, String queue) {
    return awaitMessage(channel, queue, true);
  }

  private static GetResponse awaitMessage(Channel channel, String queue, boolean autoAck) {
    GetResponse[] holder = new GetResponse[1];
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> (holder[0] = channel.basicGet(queue, autoAck)) != null);
    return holder[0];
  }
}
