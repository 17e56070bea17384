package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.quarry.bus.BusNames;
import io.quarry.bus.TopologyDeclarer;
import io.quarry.flow.FlowEndpoints;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import io.quarry.user.UserRepository;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.TestPropertySource;

/**
 * The scheduler's fan-out when the broker does not take its messages: with the stream's mining
 * queue gone every message comes back unroutable, the tick is recorded as failed and the claimed
 * users are released, so the next tick (queue back) schedules them all. No route runs by itself, so
 * nothing consumes the mining messages the test looks at.
 */
@QuarryIntegrationTest
@TestPropertySource(
    properties = {"camel.main.auto-startup=false", "quarry.mining.publish-batch-size=2"})
class FanOutFailureIT {

  static final int USERS = 5;

  @Autowired UserRepository users;
  @Autowired ProducerTemplate camel;
  @Autowired CamelContext routes;
  @Autowired JdbcClient jdbc;
  @Autowired BusNames names;
  @Autowired Environment environment;
  @Autowired TopologyDeclarer declarer;
  @Autowired CachingConnectionFactory connectionFactory;

  @Test
  void unroutableMessagesFailTheTickAndReleaseTheUsersForTheNextOne() throws Exception {
    routes.getRouteController().startRoute("posts-scheduler");
    List<Long> ids = new ArrayList<>();
    for (int i = 1; i <= USERS; i++) {
      ids.add(users.upsert("fan-out-" + i, "token-" + i));
    }
    String queue = names.miningQueue("posts");
    try (Connection connection = Services.from(environment).amqp();
        Channel channel = connection.createChannel()) {
      // A new connection re-declares the topology: open the publisher's before the queue goes.
      connectionFactory.getPublisherConnectionFactory().createConnection();
      channel.queueDelete(queue);

      camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

      Map<String, Object> failed = lastRun();
      assertThat(failed).containsEntry("outcome", "failed");
      assertThat((String) failed.get("error"))
          .contains("PublishFailedException")
          .contains("unroutable")
          .contains("NO_ROUTE");
      List<Map<String, Object>> chains =
          jdbc.sql("select status, last_error from mining_state where stream = 'posts'")
              .query()
              .listOfRows();
      assertThat(chains)
          .hasSize(USERS)
          .allSatisfy(
              chain -> {
                assertThat(chain.get("status")).isEqualTo("failed");
                assertThat((String) chain.get("last_error"))
                    .startsWith("not scheduled: publish not confirmed: unroutable");
              });

      declarer.declare(connectionFactory.createConnection());
      camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

      Map<String, Object> succeeded = lastRun();
      assertThat(succeeded)
          .containsEntry("outcome", "succeeded")
          .containsEntry("users_scheduled", USERS);
      List<Long> queued = new ArrayList<>();
      GetResponse message;
      while ((message = channel.basicGet(queue, true)) != null) {
        assertThat(message.getProps().getContentType()).isEqualTo("application/json");
        assertThat(message.getProps().getDeliveryMode()).isEqualTo(2);
        assertThat(message.getProps().getType()).isEqualTo("MiningMessage");
        String body = new String(message.getBody(), java.nio.charset.StandardCharsets.UTF_8);
        queued.add(Long.parseLong(body.replaceAll(".*\"userId\":(\\d+).*", "$1")));
      }
      assertThat(queued).containsExactlyInAnyOrderElementsOf(ids);
    }
  }

  private Map<String, Object> lastRun() {
    return jdbc.sql(
            "select * from scheduler_run where stream = 'posts' order by started_at desc limit 1")
        .query()
        .singleRow();
  }
}
