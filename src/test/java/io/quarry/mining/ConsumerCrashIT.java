package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.quarry.bus.BusNames;
import io.quarry.flow.FlowEndpoints;
import io.quarry.message.DataBatch;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.platform.sim.PlatformSimulator;
import io.quarry.storage.DataBatchCodec;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import io.quarry.user.UserRepository;
import java.time.Duration;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A consumer dies holding a mining message it has half processed (it published a data batch of the
 * first page only, as an attempt cut short after page 1 would, then its connection dropped before
 * the ack). The broker hands the message to another consumer, which publishes pages 1 to 3 as one
 * batch: grouped differently, yet every item is stored once and every page counted once.
 */
@QuarryIntegrationTest
class ConsumerCrashIT {

  static final PlatformSimulator PLATFORM = PlatformSimulator.start(0);

  @DynamicPropertySource
  static void platform(DynamicPropertyRegistry registry) {
    registry.add("quarry.platform.base-url", () -> PLATFORM.baseUrl().toString());
  }

  @Autowired UserRepository users;
  @Autowired JdbcClient jdbc;
  @Autowired ProducerTemplate producer;
  @Autowired CamelContext camel;
  @Autowired BusNames names;
  @Autowired Environment environment;
  @Autowired DataBatchCodec batches;
  @Autowired MiningMessageCodec codec;

  @Test
  void anUnackedMessageOfAKilledConsumerIsMinedByAnotherWithNothingLostOrDuplicated()
      throws Exception {
    long user = users.upsert("crash-victim", "t");
    PLATFORM.user("crash-victim").pages(3);
    camel.getRouteController().stopRoute("posts-miner");
    producer.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    try (Connection doomed = Services.from(environment).amqp()) {
      Channel channel = doomed.createChannel();
      GetResponse taken =
          await()
              .atMost(Duration.ofSeconds(10))
              .until(() -> channel.basicGet(names.miningQueue("posts"), false), r -> r != null);
      MiningMessage message = codec.read(taken.getBody(), null);
      // The dying consumer got as far as publishing a batch of page 1 of the user's items...
      var page =
          new io.quarry.platform.PlatformClient(
                  io.quarry.platform.PlatformClient.Settings.defaults(PLATFORM.baseUrl()),
                  new com.fasterxml.jackson.databind.ObjectMapper())
              .fetch("/users/{userId}/posts", "crash-victim", "t", message.limit(), null);
      producer.sendBody(
          "quarry-amqp:exchange:" + names.dataTopic("posts"),
          batches.write(DataBatch.of("posts", user, message.runId(), 1, page.items())));
      // ...and dies here, without an ack: closing the connection returns the message to the queue.
    }

    camel.getRouteController().startRoute("posts-miner");

    await().atMost(Duration.ofSeconds(30)).until(() -> "completed".equals(status(user)));
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> count("select count(*) from raw_item where user_id = " + user) == 60);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                count("select coalesce(sum(items), 0) from analytics_daily where user_id = " + user)
                    == 60);
    await()
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(3))
        .until(
            () ->
                count("select coalesce(sum(items), 0) from analytics_daily where user_id = " + user)
                    == 60);
    assertThat(count("select pages_mined from mining_state where user_id = " + user)).isEqualTo(3);
  }

  private String status(long user) {
    return jdbc.sql("select status from mining_state where user_id = :u")
        .param("u", user)
        .query(String.class)
        .optional()
        .orElse("");
  }

  private long count(String sql) {
    return jdbc.sql(sql).query(Long.class).single();
  }
}
