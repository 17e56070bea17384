package io.quarry.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.quarry.bus.BusNames;
import io.quarry.flow.FlowEndpoints;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import io.quarry.support.TcpProxy;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The relay against the real broker: a queue of the test's own is bound to the integration-events
 * exchange and every message that reaches it is counted by message id.
 */
@QuarryIntegrationTest
class OutboxRelayIT {

  /**
   * Quarry and the test reach the broker through this proxy: an outage is a cut connection, never
   * the shared broker stopped under every other test and benchmark on the machine.
   */
  static final TcpProxy BROKER = startProxy();

  @DynamicPropertySource
  static void throughTheProxy(DynamicPropertyRegistry registry) {
    registry.add("quarry.rabbitmq.port", BROKER::port);
  }

  private static TcpProxy startProxy() {
    try {
      var machine = new org.springframework.core.env.StandardEnvironment();
      return new TcpProxy(
          machine.getProperty("quarry.rabbitmq.host", "127.0.0.1"),
          machine.getProperty("quarry.rabbitmq.port", Integer.class, 5672));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Autowired OutboxRepository outbox;
  @Autowired TransactionTemplate transaction;
  @Autowired JdbcClient jdbc;
  @Autowired ProducerTemplate producer;
  @Autowired CamelContext camel;
  @Autowired Environment environment;
  @Autowired BusNames names;

  @Value("${quarry.environment}")
  String env;

  Connection connection;
  Channel channel;
  String probe;

  @BeforeEach
  void bindProbeQueue() throws Exception {
    // The notification consumer would take (and dead-letter) these test events: stop it.
    camel.getRouteController().stopRoute("notification-events");
    connection = Services.from(environment).amqp();
    channel = connection.createChannel();
    probe = "outbox-probe-" + env;
    channel.queueDeclare(probe, true, false, false, Map.of());
    channel.queueBind(probe, names.integrationEventsExchange(), "#");
  }

  @AfterEach
  void removeProbeQueue() throws Exception {
    // On a connection of its own: the outage test's cut closed the test's channel.
    try (var cleanup = Services.from(environment).amqp();
        var cleanupChannel = cleanup.createChannel()) {
      cleanupChannel.queueDelete(probe);
    }
    if (connection.isOpen()) {
      connection.close();
    }
    jdbc.sql("delete from outbox_event").update();
  }

  @Test
  void publishesEventsInCreationOrderExactlyOnce() throws Exception {
    List<String> written = write(1_200); // more than two batches of 500

    List<String> received = drain(written.size());

    assertThat(received).containsExactlyElementsOf(written);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending() == 0);
    await()
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(3))
        .until(() -> channel.messageCount(probe) == 0);
  }

  @Test
  void eventsWaitOutABrokerOutageAndAllArriveAfterIt() throws Exception {
    List<String> written;
    BROKER.cut();
    try {
      written = write(50);
      await()
          .atMost(Duration.ofSeconds(15))
          .until(
              () ->
                  jdbc.sql(
                              "select count(*) from outbox_event where attempts > 0 and published_at is null")
                          .query(Long.class)
                          .single()
                      == 50);
    } finally {
      BROKER.restore();
    }
    channel = reconnect();
    assertThat(drain(50, Duration.ofSeconds(60))).containsExactlyInAnyOrderElementsOf(written);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending() == 0);
  }

  @Test
  void anEventTheBrokerRefusesWaitsAloneWhileTheRestOfItsBatchIsPublished() throws Exception {
    // A queue that refuses every message (full at length 0, reject-publish): the broker nacks
    // the events routed to it, and only those.
    String refusing = "outbox-refusing-" + env;
    channel.queueDeclare(
        refusing, false, false, false, Map.of("x-max-length", 0, "x-overflow", "reject-publish"));
    channel.queueBind(refusing, names.integrationEventsExchange(), "OutboxRefusedEvent");
    try {
      List<String> good = new ArrayList<>();
      String refused;
      camel.getRouteController().stopRoute("outbox-poll");
      camel.getRouteController().stopRoute("outbox-wakeup");
      try {
        good.addAll(write(5));
        refused = write("OutboxRefusedEvent", 1).get(0);
        good.addAll(write(5));

        long published = relay();

        // before the poll runs again and retries it
        assertThat(published).isEqualTo(10);
        assertThat(
                jdbc.sql("select id::text from outbox_event where published_at is null")
                    .query(String.class)
                    .list())
            .containsExactly(refused);
        assertThat(
                jdbc.sql(
                        "select attempts, last_error from outbox_event where id = cast(:id as uuid)")
                    .param("id", refused)
                    .query((rs, n) -> rs.getInt(1) + " " + rs.getString(2))
                    .single())
            .startsWith("1 ")
            .contains("nacked");
      } finally {
        camel.getRouteController().startRoute("outbox-poll");
        camel.getRouteController().startRoute("outbox-wakeup");
      }
      assertThat(drain(good.size())).containsAll(good);
    } finally {
      channel.queueDelete(refusing);
    }
  }

  @Test
  void aBatchTheBrokerCannotTakeWaitsWholeAndGoesOutOnceItCan() throws Exception {
    // The exchange gone (in this test's own environment): the broker closes the publishing
    // channel, which is trouble with the broker, not a refused message.
    String exchange = names.integrationEventsExchange();
    List<String> written;
    camel.getRouteController().stopRoute("outbox-poll");
    camel.getRouteController().stopRoute("outbox-wakeup");
    try {
      channel.exchangeDelete(exchange);
      written = write(20);

      long published = relay();

      assertThat(published).isZero();
      assertThat(
              jdbc.sql(
                      "select count(*) from outbox_event"
                          + " where published_at is null and attempts = 1"
                          + " and last_error like '%channel closed%'")
                  .query(Long.class)
                  .single())
          .as("every event of the batch backed off once")
          .isEqualTo(20);
      // back as the topology declares it
      channel.exchangeDeclare(exchange, "topic", true);
      channel.queueBind(names.notificationEventsQueue(), exchange, "#");
      channel.queueBind(probe, exchange, "#");
    } finally {
      camel.getRouteController().startRoute("outbox-poll");
      camel.getRouteController().startRoute("outbox-wakeup");
    }
    assertThat(drain(20)).containsExactlyInAnyOrderElementsOf(written);
    await().atMost(Duration.ofSeconds(5)).until(() -> pending() == 0);
  }

  @Test
  void twoRelaysClaimingAtOnceNeverPublishTheSameEventTwice() throws Exception {
    camel.getRouteController().stopRoute("outbox-poll");
    camel.getRouteController().stopRoute("outbox-wakeup");
    try {
      List<String> written = write(3_000);
      // Two relay runs at once, as two instances would run them: each claims its own batches.
      CompletableFuture<Long> first = CompletableFuture.supplyAsync(this::relay);
      CompletableFuture<Long> second = CompletableFuture.supplyAsync(this::relay);

      long published = first.get(60, TimeUnit.SECONDS) + second.get(60, TimeUnit.SECONDS);

      assertThat(published).isEqualTo(3_000);
      assertThat(first.get()).as("both relays took part").isPositive();
      assertThat(second.get()).as("both relays took part").isPositive();
      List<String> received = drain(3_000);
      assertThat(new HashSet<>(received)).hasSize(3_000).containsAll(written);
      assertThat(channel.messageCount(probe)).isZero();
    } finally {
      camel.getRouteController().startRoute("outbox-poll");
      camel.getRouteController().startRoute("outbox-wakeup");
    }
  }

  @Test
  void anEventThatCannotBeMarkedPublishedWaitsWithABackoffInsteadOfGoingOutAtEveryPoll()
      throws Exception {
    // Issue 16, defect 5: marking failed, the batch was rolled back as if never claimed and
    // published again at every poll (13 copies in 13 s). Here the database refuses the mark.
    jdbc.sql(
            """
            create function refuse_outbox_mark() returns trigger language plpgsql as $$
            begin
              if new.published_at is not null and new.event_type = 'OutboxUnmarkableEvent' then
                raise exception 'cannot mark this event published';
              end if;
              return new;
            end $$
            """)
        .update();
    jdbc.sql(
            "create trigger refuse_outbox_mark before update on outbox_event"
                + " for each row execute function refuse_outbox_mark()")
        .update();
    camel.getRouteController().stopRoute("outbox-poll");
    camel.getRouteController().stopRoute("outbox-wakeup");
    try {
      String id = write("OutboxUnmarkableEvent", 1).get(0);

      long first = relay();
      long second = relay(); // at once, as the next poll would

      assertThat(first + second).isZero();
      assertThat(
              jdbc.sql(
                      """
                      select attempts, last_error, next_attempt_at > now() from outbox_event
                       where id = cast(:id as uuid) and published_at is null
                      """)
                  .param("id", id)
                  .query((rs, n) -> rs.getInt(1) + " " + rs.getBoolean(3) + " " + rs.getString(2))
                  .single())
          .as("one attempt, waiting, with the reason")
          .startsWith("1 true ")
          .contains("cannot mark this event published");
      assertThat(drain(1)).as("published once, not again by the second run").containsExactly(id);
      await()
          .during(Duration.ofMillis(500))
          .atMost(Duration.ofSeconds(2))
          .until(() -> channel.messageCount(probe) == 0);
    } finally {
      jdbc.sql("drop trigger refuse_outbox_mark on outbox_event").update();
      jdbc.sql("drop function refuse_outbox_mark()").update();
      camel.getRouteController().startRoute("outbox-poll");
      camel.getRouteController().startRoute("outbox-wakeup");
    }
  }

  private long relay() {
    return producer.requestBody(FlowEndpoints.OUTBOX_RELAY, null, Long.class);
  }

  private List<String> write(int count) {
    return write("OutboxProbeEvent", count);
  }

  private List<String> write(String type, int count) {
    List<String> ids = new ArrayList<>();
    transaction.executeWithoutResult(
        status -> {
          for (int i = 0; i < count; i++) {
            IntegrationEvent event = IntegrationEvent.of(type, Instant.now(), Map.of("n", i));
            outbox.append(event, 0);
            ids.add(event.id().toString());
          }
        });
    return ids;
  }

  private List<String> drain(int expected) throws Exception {
    return drain(expected, Duration.ofSeconds(30));
  }

  private List<String> drain(int expected, Duration atMost) throws Exception {
    List<String> ids = new ArrayList<>();
    await()
        .atMost(atMost)
        .until(
            () -> {
              GetResponse message;
              while ((message = channel.basicGet(probe, true)) != null) {
                ids.add(message.getProps().getMessageId());
              }
              return ids.size() >= expected;
            });
    return ids;
  }

  private Channel reconnect() throws Exception {
    await()
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(
            () -> {
              connection = Services.from(environment).amqp();
              return connection.isOpen();
            });
    return connection.createChannel();
  }

  private long pending() {
    return jdbc.sql("select count(*) from outbox_event where published_at is null")
        .query(Long.class)
        .single();
  }
}
