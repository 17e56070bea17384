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
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.builder.AdviceWith;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.TestPropertySource;

/**
 * The scheduler's fan-out when something fails: with the stream's mining queue gone every message
 * comes back unroutable, the tick is recorded as failed and the claimed users are released, so the
 * next tick (queue back) schedules them all; a page read or a publish that fails midway (pages of
 * {@value #PAGE} users) leaves the users already published to be mined, releases the claimed rest
 * of the page under way and the page claimed ahead of it, reads no further, and the run says how
 * many of each. No route runs by itself, so nothing consumes the mining messages the test looks at.
 */
@QuarryIntegrationTest
@TestPropertySource(
    properties = {"camel.main.auto-startup=false", "quarry.mining.publish-batch-size=2"})
class FanOutFailureIT {

  static final int USERS = 5;
  static final int BATCH = 2;
  static final int PAGE = BATCH * MiningScheduler.GROUPS_PER_PAGE;
  static final int MANY = PAGE * 2 + PAGE / 2;

  /** What the tick does before each read of a page and each publish (set by a test). */
  static volatile Processor beforeRead = exchange -> {};

  static volatile Processor beforePublish = exchange -> {};

  @Autowired UserRepository users;
  @Autowired ProducerTemplate camel;
  @Autowired CamelContext routes;
  @Autowired JdbcClient jdbc;
  @Autowired BusNames names;
  @Autowired Environment environment;
  @Autowired TopologyDeclarer declarer;
  @Autowired CachingConnectionFactory connectionFactory;

  @BeforeEach
  void freshUsersAndQueue() throws Exception {
    beforeRead = exchange -> {};
    beforePublish = exchange -> {};
    if (!routes.getRouteController().getRouteStatus("posts-scheduler").isStarted()) {
      AdviceWith.adviceWith(
          routes,
          "posts-scheduler",
          a -> {
            a.weaveById("posts-read-active-users").before().process(e -> beforeRead.process(e));
            a.weaveById("posts-publish-mining-messages")
                .before()
                .process(e -> beforePublish.process(e));
          });
      routes.getRouteController().startRoute("posts-scheduler");
    }
    jdbc.sql("truncate app_user, mining_state, scheduler_run cascade").update();
    declarer.declare(connectionFactory.createConnection());
    try (Connection connection = Services.from(environment).amqp();
        Channel channel = connection.createChannel()) {
      channel.queuePurge(names.miningQueue("posts"));
    }
  }

  @Test
  void unroutableMessagesFailTheTickAndReleaseTheUsersForTheNextOne() throws Exception {
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

  @Test
  void aPageReadFailingMidwayLeavesThePublishedUsersToBeMinedAndReadsNoFurther() throws Exception {
    List<Long> ids = addUsers(MANY);
    AtomicInteger reads = new AtomicInteger();
    beforeRead =
        exchange -> {
          if (reads.incrementAndGet() == 2) {
            jdbc.sql("alter table app_user rename to app_user_away").update();
          }
        };

    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    jdbc.sql("alter table app_user_away rename to app_user").update();
    Map<String, Object> failed = lastRun();
    assertThat(failed)
        .containsEntry("outcome", "failed")
        .containsEntry("users_read", PAGE)
        .containsEntry("users_published", PAGE)
        .containsEntry("users_scheduled", PAGE)
        .containsEntry("users_released", 0);
    assertThat((String) failed.get("error")).contains("app_user");
    // the first page is queued and its chains wait for their miner; nobody else was claimed
    List<Long> firstPage = ids.subList(0, PAGE);
    assertThat(queued()).containsExactlyElementsOf(firstPage);
    assertThat(chains("in_progress")).containsExactlyElementsOf(firstPage);
    assertThat(chains(null)).containsExactlyElementsOf(firstPage);

    beforeRead = exchange -> {};
    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    assertThat(lastRun())
        .containsEntry("outcome", "succeeded")
        .containsEntry("users_read", MANY)
        .containsEntry("users_scheduled", MANY - PAGE)
        .containsEntry("users_skipped", PAGE);
    assertThat(queued()).containsExactlyElementsOf(ids.subList(PAGE, MANY));
  }

  @Test
  void aPublishFailingMidwayReleasesWhatItClaimedAndTheNextTickTakesThemUp() throws Exception {
    List<Long> ids = addUsers(MANY);
    String queue = names.miningQueue("posts");
    int failing = PAGE / BATCH + 3; // the third group of the second page
    AtomicInteger publishes = new AtomicInteger();
    List<Long> publishedBeforeTheQueueWent = new ArrayList<>();
    beforePublish =
        exchange -> {
          if (publishes.incrementAndGet() == failing) {
            publishedBeforeTheQueueWent.addAll(queued());
            try (Connection connection = Services.from(environment).amqp();
                Channel channel = connection.createChannel()) {
              channel.queueDelete(queue);
            }
          }
        };

    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    int published = PAGE + 2 * BATCH;
    Map<String, Object> failed = lastRun();
    assertThat(failed)
        .containsEntry("outcome", "failed")
        .containsEntry("users_read", MANY) // the last page was claimed while the second went out
        .containsEntry("users_published", published)
        .containsEntry("users_released", MANY - published);
    assertThat((String) failed.get("error")).contains("unroutable");
    assertThat(publishedBeforeTheQueueWent).containsExactlyElementsOf(ids.subList(0, published));
    assertThat(chains("in_progress")).containsExactlyElementsOf(ids.subList(0, published));
    assertThat(chains("failed")).containsExactlyElementsOf(ids.subList(published, MANY));

    beforePublish = exchange -> {};
    declarer.declare(connectionFactory.createConnection());
    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    assertThat(lastRun())
        .containsEntry("outcome", "succeeded")
        .containsEntry("users_scheduled", MANY - published)
        .containsEntry("users_resumed", MANY - published)
        .containsEntry("users_skipped", published);
    assertThat(queued()).containsExactlyElementsOf(ids.subList(published, MANY));
  }

  private List<Long> addUsers(int count) {
    List<Long> ids = new ArrayList<>();
    for (int i = 1; i <= count; i++) {
      ids.add(users.upsert("fan-out-" + i, "token-" + i));
    }
    return ids;
  }

  /** The users of the stream's chains in this status (any status: null), in user order. */
  private List<Long> chains(String status) {
    return jdbc.sql(
            "select user_id from mining_state where stream = 'posts'"
                + " and (cast(:status as text) is null or status = :status) order by user_id")
        .param("status", status)
        .query(Long.class)
        .list();
  }

  /** Takes every message off the mining queue: the users, in queue order. */
  private List<Long> queued() throws Exception {
    List<Long> queued = new ArrayList<>();
    try (Connection connection = Services.from(environment).amqp();
        Channel channel = connection.createChannel()) {
      GetResponse message;
      while ((message = channel.basicGet(names.miningQueue("posts"), true)) != null) {
        String body = new String(message.getBody(), java.nio.charset.StandardCharsets.UTF_8);
        queued.add(Long.parseLong(body.replaceAll(".*\"userId\":(\\d+).*", "$1")));
      }
    }
    return queued;
  }

  private Map<String, Object> lastRun() {
    return jdbc.sql(
            "select * from scheduler_run where stream = 'posts' order by started_at desc limit 1")
        .query()
        .singleRow();
  }
}
