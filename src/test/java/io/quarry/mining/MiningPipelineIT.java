package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.quarry.flow.FlowEndpoints;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.user.UserRepository;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

/** The whole data path on the real broker and database against the simulated platform API. */
@QuarryIntegrationTest
@TestPropertySource(
    properties = {
      "quarry.mining.dead-letter-retries=0",
      "quarry.streams.posts.pages-per-message=2"
    })
class MiningPipelineIT extends SimulatedPlatformTest {

  static final int ITEMS_PER_PAGE = 20;

  @Autowired UserRepository users;
  @Autowired ProducerTemplate camel;
  @Autowired org.apache.camel.CamelContext camelContext;
  @Autowired org.springframework.core.env.Environment environment;
  @Autowired io.quarry.bus.BusNames names;

  @Autowired MeterRegistry meters;

  @Test
  void fiftyUsersAreMinedCompletelyAndOneUsersTroubleStaysItsOwn() {
    Map<Long, Integer> pagesOf = new HashMap<>();
    for (int i = 1; i <= 50; i++) {
      long id = users.upsert("user-" + i, "token-" + i);
      int pages = 1 + i % 7;
      PLATFORM.user("user-" + i).pages(pages);
      pagesOf.put(id, pages);
    }
    long unauthorized = idOf("user-13");
    long broken = idOf("user-27");
    PLATFORM.user("user-13").unauthorized();
    PLATFORM.user("user-27").serverErrorsAlways();
    double pagesBefore = meter("quarry.mining.pages", "stream", "posts");
    double endedBefore = meter("quarry.mining.chains.stopped", "reason", "end_of_data");
    double unauthorizedBefore = meter("quarry.mining.chains.stopped", "reason", "unauthorized");
    long chainsBefore = chainPages().count();

    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    await()
        .atMost(Duration.ofSeconds(90))
        .until(
            () ->
                count(
                        "select count(*) from mining_state where stream = 'posts' and status <> 'in_progress'")
                    == 50);

    for (Map.Entry<Long, Integer> user : pagesOf.entrySet()) {
      long id = user.getKey();
      if (id == unauthorized || id == broken) {
        continue;
      }
      Map<String, Object> state = state(id);
      assertThat(state)
          .as("user " + id)
          .containsEntry("status", "completed")
          .containsEntry("stop_reason", "end_of_data");
      assertThat(((Number) state.get("pages_mined")).intValue())
          .as("pages of " + id)
          .isEqualTo(user.getValue());
      long expectedItems = (long) user.getValue() * ITEMS_PER_PAGE;
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  count("select count(*) from raw_item where stream = 'posts' and user_id = " + id)
                      == expectedItems);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  count(
                          "select coalesce(sum(items), 0) from analytics_daily where stream = 'posts' and user_id = "
                              + id)
                      == expectedItems);
    }

    assertThat(state(unauthorized))
        .containsEntry("status", "stopped")
        .containsEntry("stop_reason", "unauthorized");
    assertThat(
            jdbc.sql("select needs_reauthorization from app_user where id = :id")
                .param("id", unauthorized)
                .query(Boolean.class)
                .single())
        .isTrue();
    // The chain is marked failed once its dead letter is confirmed, which may be after parking.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(state(broken)).containsEntry("status", "failed"));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                count(
                        "select count(*) from dead_letter where source_queue like 'posts-mining-queue-%'")
                    == 1);
    Map<String, Object> parked = jdbc.sql("select *" + MINING_DEAD_LETTERS).query().singleRow();
    assertThat((String) parked.get("reason")).contains("500");
    assertThat(parked.get("exception_class"))
        .isEqualTo("io.quarry.platform.TransientPlatformException");
    assertThat(parked.get("route_id")).isEqualTo("posts-miner-pages");

    Map<String, Object> run =
        jdbc.sql("select * from scheduler_run where stream = 'posts'").query().singleRow();
    assertThat(run).containsEntry("outcome", "succeeded").containsEntry("users_scheduled", 50);

    // The metrics tell the same story, without a label per user.
    int minedPages =
        pagesOf.entrySet().stream()
            .filter(u -> u.getKey() != unauthorized && u.getKey() != broken)
            .mapToInt(Map.Entry::getValue)
            .sum();
    assertThat(meter("quarry.mining.pages", "stream", "posts") - pagesBefore).isEqualTo(minedPages);
    assertThat(meter("quarry.mining.chains.stopped", "reason", "end_of_data") - endedBefore)
        .isEqualTo(48);
    assertThat(meter("quarry.mining.chains.stopped", "reason", "unauthorized") - unauthorizedBefore)
        .isEqualTo(1);
    assertThat(chainPages().count() - chainsBefore).isEqualTo(49);
  }

  private double meter(String name, String tag, String value) {
    var counter = meters.find(name).tag("stream", "posts").tag(tag, value).counter();
    return counter == null ? 0 : counter.count();
  }

  private HistogramSnapshot chainPages() {
    var summary = meters.find("quarry.mining.chain.pages").tag("stream", "posts").summary();
    return summary == null ? HistogramSnapshot.empty(0, 0, 0) : summary.takeSnapshot();
  }

  @Test
  void aUserWhoseChainIsStillRunningIsSkippedByTheNextTick() {
    long slow = users.upsert("slow", "t");
    long idle = users.upsert("idle", "t");
    jdbc.sql(
            "insert into mining_state (user_id, stream, status, run_id, updated_at) values (:u, 'posts', 'in_progress', gen_random_uuid(), now())")
        .param("u", slow)
        .update();

    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    Map<String, Object> run =
        jdbc.sql(
                "select * from scheduler_run where stream = 'posts' order by started_at desc limit 1")
            .query()
            .singleRow();
    assertThat(run).containsEntry("users_scheduled", 1).containsEntry("users_skipped", 1);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> "completed".equals(state(idle).get("status")));
    assertThat(state(slow).get("run_id")).isNotEqualTo(run.get("run_id"));
  }

  @Test
  void aFailedUserListReadSendsNothingAndRecordsTheFailedRun() {
    users.upsert("someone", "t");
    jdbc.sql("alter table app_user rename to app_user_hidden").update();
    try {
      camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);
    } finally {
      jdbc.sql("alter table app_user_hidden rename to app_user").update();
    }
    Map<String, Object> run =
        jdbc.sql(
                "select * from scheduler_run where stream = 'posts' order by started_at desc limit 1")
            .query()
            .singleRow();
    assertThat(run).containsEntry("outcome", "failed");
    assertThat((String) run.get("error")).contains("app_user");
    assertThat(count("select count(*) from mining_state")).isZero();
    await()
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(3))
        .until(() -> PLATFORM.totalRequests() == 0);
  }

  @Test
  void aCamelHeaderThatAMessageCarriesSteersNothing() throws Exception {
    long user = users.upsert("header-carrier", "t");
    PLATFORM.user("header-carrier").pages(1);
    camelContext.getRouteController().stopRoute("posts-miner");
    try {
      camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);
      // The message, taken off the queue and put back carrying a header that would make the
      // codec gunzip a plain JSON body, if a consumer let Camel* headers in.
      String queue = names.miningQueue("posts");
      try (com.rabbitmq.client.Connection connection =
              io.quarry.support.Services.from(environment).amqp();
          com.rabbitmq.client.Channel channel = connection.createChannel()) {
        com.rabbitmq.client.GetResponse message = channel.basicGet(queue, true);
        assertThat(message).isNotNull();
        Map<String, Object> headers = new HashMap<>();
        headers.put("CAMELSPRINGRABBITMQCONTENTENCODING", "gzip");
        channel.basicPublish(
            "",
            queue,
            message.getProps().builder().contentEncoding(null).headers(headers).build(),
            message.getBody());
      }
    } finally {
      camelContext.getRouteController().startRoute("posts-miner");
    }

    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> "completed".equals(state(user).get("status")));
    assertThat(count("select count(*)" + MINING_DEAD_LETTERS)).isZero();
  }

  private long idOf(String externalId) {
    return jdbc.sql("select id from app_user where external_id = :e")
        .param("e", externalId)
        .query(Long.class)
        .single();
  }
}
