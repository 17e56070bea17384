package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.quarry.bus.BusNames;
import io.quarry.flow.FlowEndpoints;
import io.quarry.support.Csrf;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import io.quarry.user.UserRepository;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.env.Environment;
import org.springframework.test.context.TestPropertySource;

/** Each reason a chain stops, each fault of the platform, and malformed messages. */
@QuarryIntegrationTest
@TestPropertySource(
    properties = {
      "quarry.mining.dead-letter-retries=0",
      "quarry.mining.max-pages-per-run=6",
      "quarry.mining.consecutive-batch-repeats-limit=3",
      "quarry.platform.read-timeout=1s"
    })
class MiningStopsIT extends SimulatedPlatformTest {

  @Autowired UserRepository users;
  @Autowired ProducerTemplate camel;
  @Autowired org.apache.camel.CamelContext routes;
  @Autowired Environment environment;
  @Autowired BusNames names;
  @LocalServerPort int port;

  @Test
  void adClicksPassThroughTheParserBeforeTheyAreStored() {
    long user = users.upsert("clicker", "t");
    PLATFORM.user("clicker").pages(2);
    camel.sendBody(FlowEndpoints.schedulerWorker("ad-clicks"), null);

    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                count(
                        "select count(*) from raw_item where stream = 'ad-clicks' and user_id = "
                            + user)
                    == 40);
    assertThat(
            count(
                "select count(*) from raw_item where stream = 'ad-clicks' and item->>'cost' !~ '^[0-9]+\\.[0-9]{4}$'"))
        .as("every cost normalised to four decimals")
        .isZero();
    assertThat(
            count(
                "select count(*) from raw_item where stream = 'ad-clicks' and item->>'adId' <> lower(item->>'adId')"))
        .isZero();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                count(
                        "select coalesce(sum(items), 0) from analytics_daily where stream = 'ad-clicks' and user_id = "
                            + user)
                    == 40);
  }

  @Test
  void stopsAfterTheMarkerRepeatsTooOften() throws Exception {
    // A repeated page holds items already stored; with storage paused, only the repeat limit can
    // stop it.
    routes.getRouteController().stopRoute("posts-raw-storage");
    try {
      long user = mine("repeater", s -> s.pages(10).repeatMarkerFromPage(2));
      assertThat(state(user))
          .containsEntry("status", "stopped")
          .containsEntry("stop_reason", "marker_repeated");
      assertThat(PLATFORM.requests("repeater")).as("page 1, then page 2 three times").isEqualTo(4);
    } finally {
      routes.getRouteController().startRoute("posts-raw-storage");
    }
  }

  @Test
  void stopsWhenAMarkerOfThisRunComesBack() {
    long user = mine("cycler", s -> s.pages(10).cycleAtPage(3));
    assertThat(state(user))
        .containsEntry("status", "stopped")
        .containsEntry("stop_reason", "marker_cycle");
  }

  @Test
  void stopsAtTheMaximumPagesPerRun() {
    long user = mine("endless", s -> s.pages(50));
    assertThat(state(user))
        .containsEntry("stop_reason", "max_pages")
        .containsEntry("pages_mined", 6L);
  }

  @Test
  void stopsAtTheFirstPageThatHoldsOnlyStoredItems() {
    long user = mine("incremental", s -> s.pages(3));
    assertThat(state(user))
        .containsEntry("stop_reason", "end_of_data")
        .as("a first run has no earlier data to stop at")
        .containsEntry("mined_before", false);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> count("select count(*) from raw_item where user_id = " + user) == 60);
    int requestsBefore = PLATFORM.requests("incremental");

    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                "completed".equals(state(user).get("status"))
                    && "no_new_data".equals(state(user).get("stop_reason")));
    assertThat(PLATFORM.requests("incremental") - requestsBefore)
        .as("pages fetched the second time")
        .isEqualTo(1);
    assertThat(state(user)).containsEntry("mined_before", true);
  }

  @Test
  void aChainIsUpdatedThroughItsPrimaryKeyNotThroughTheIndexOfItsRun() {
    // 2,000 inactive users whose chains are all in one run: an index that leads with the run (or
    // with stream and run) matches a chain update as well as the key does, and costs a read of
    // every chain of the run per update.
    jdbc.sql(
            """
            insert into app_user (external_id, active)
            select 'plan-' || g, false from generate_series(1, 2000) g
            """)
        .update();
    jdbc.sql(
            """
            insert into mining_state (user_id, stream, status, run_id)
            select id, 'posts', 'in_progress', '00000000-0000-0000-0000-000000000009'
              from app_user where external_id like 'plan-%'
            """)
        .update();
    long user = count("select min(id) from app_user where external_id like 'plan-%'");

    String plan =
        String.join(
            "\n",
            jdbc.sql(
                    "explain update mining_state set status = 'completed' where user_id = "
                        + user
                        + " and stream = 'posts'"
                        + " and run_id = '00000000-0000-0000-0000-000000000009'")
                .query(String.class)
                .list());

    assertThat(plan).contains("mining_state_pkey").doesNotContain("mining_state_run_idx");
  }

  @Test
  void aRateLimitDelaysTheContinuationWithoutCountingAsAnError() {
    long started = System.nanoTime();
    long user = mine("limited", s -> s.pages(2).rateLimited(1, Duration.ofSeconds(1)));
    assertThat(state(user))
        .containsEntry("status", "completed")
        .containsEntry("stop_reason", "end_of_data");
    assertThat(Duration.ofNanos(System.nanoTime() - started))
        .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
    assertThat(count("select count(*)" + MINING_DEAD_LETTERS)).isZero();
  }

  @Test
  void aForbiddenTokenStopsTheChainAndFlagsTheUser() {
    long user = mine("forbidden", s -> s.pages(2).forbidden());
    assertThat(state(user))
        .containsEntry("status", "stopped")
        .containsEntry("stop_reason", "unauthorized");
    assertThat(
            jdbc.sql("select needs_reauthorization from app_user where id = " + user)
                .query(Boolean.class)
                .single())
        .isTrue();
  }

  @Test
  void aShortServerErrorBurstIsRetriedInsideTheRoute() {
    long user = mine("flaky", s -> s.pages(2).serverErrors(1));
    assertThat(state(user)).containsEntry("status", "completed");
    assertThat(PLATFORM.requests("flaky")).as("the 500, its redelivery, page 2").isEqualTo(3);
  }

  @Test
  void aTimeoutIsTransientRetriedThenDeadLettered() {
    PLATFORM.latency(Duration.ofMillis(1_500)); // longer than quarry.platform.read-timeout
    long user = users.upsert("slowpoke", "t");
    PLATFORM.user("slowpoke").pages(1);
    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> count("select count(*)" + MINING_DEAD_LETTERS) == 1);
    Map<String, Object> parked = jdbc.sql("select *" + MINING_DEAD_LETTERS).query().singleRow();
    assertThat(parked.get("exception_class"))
        .isEqualTo("io.quarry.platform.TransientPlatformException");
    assertThat(parked.get("permanent")).isEqualTo(false);
    assertThat((String) parked.get("reason")).containsIgnoringCase("time");
    // The chain is marked failed once its dead letter is confirmed, which may be after parking.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(state(user)).containsEntry("status", "failed"));
    assertThat(PLATFORM.requests("slowpoke")).as("the first try and one redelivery").isEqualTo(2);
  }

  @Test
  void aMalformedResponseIsDeadLetteredAtOnceWithItsReason() {
    long user = users.upsert("garbled", "t");
    PLATFORM.user("garbled").pages(3).malformedAtPage(2);
    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> count("select count(*)" + MINING_DEAD_LETTERS) == 1);
    Map<String, Object> parked = jdbc.sql("select *" + MINING_DEAD_LETTERS).query().singleRow();
    assertThat(parked.get("exception_class"))
        .isEqualTo("io.quarry.platform.MalformedResponseException");
    assertThat(parked.get("permanent")).isEqualTo(true);
    // The chain is marked failed once its dead letter is confirmed, which may be after parking.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(state(user)).containsEntry("status", "failed"));
    assertThat(PLATFORM.requests("garbled"))
        .as("no redelivery of a permanent failure")
        .isEqualTo(2);
  }

  @Test
  void largePagesTravelGzipCompressedAndAreStoredIntact() {
    long user = mine("huge", s -> s.pages(2).hugePages(8_000));
    assertThat(state(user)).containsEntry("status", "completed");
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> count("select count(*) from raw_item where user_id = " + user) == 40);
    assertThat(count("select min(length(item->>'payload')) from raw_item where user_id = " + user))
        .isEqualTo(8_000);
  }

  @Test
  void malformedMiningMessagesAreDeadLetteredWithTheirReasonAndTheConsumerGoesOn()
      throws Exception {
    String queue = names.miningQueue("posts");
    try (Connection connection = Services.from(environment).amqp();
        Channel channel = connection.createChannel()) {
      AMQP.BasicProperties json =
          new AMQP.BasicProperties.Builder()
              .contentType("application/json")
              .deliveryMode(2)
              .build();
      channel.basicPublish("", queue, json, "{not json".getBytes(StandardCharsets.UTF_8));
      channel.basicPublish(
          "",
          queue,
          json,
          "{\"version\":1,\"stream\":\"posts\",\"runId\":\"7d5c4f1e-2a43-4b8c-9a57-0d6e5f1e2a43\",\"limit\":10,\"consecutiveBatchRepeatsLimit\":5}"
              .getBytes(StandardCharsets.UTF_8));
      channel.basicPublish(
          "",
          queue,
          json,
          "{\"version\":1,\"stream\":\"videos\",\"userId\":1,\"runId\":\"7d5c4f1e-2a43-4b8c-9a57-0d6e5f1e2a43\",\"limit\":10,\"consecutiveBatchRepeatsLimit\":5}"
              .getBytes(StandardCharsets.UTF_8));
    }
    long user = mine("after-garbage", s -> s.pages(1));
    assertThat(state(user)).containsEntry("status", "completed");

    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> count("select count(*)" + MINING_DEAD_LETTERS) == 3);
    List<String> reasons =
        jdbc.sql("select reason" + MINING_DEAD_LETTERS + " order by id").query(String.class).list();
    assertThat(reasons)
        .anySatisfy(r -> assertThat(r).contains("not valid JSON"))
        .anySatisfy(r -> assertThat(r).contains("userId"))
        .anySatisfy(r -> assertThat(r).contains("unknown stream"));
  }

  @Test
  void aParkedMessageIsReplayedThroughTheApiAndCompletesTheChain() {
    long user = users.upsert("recovers", "t");
    PLATFORM.user("recovers").pages(2).serverErrorsAlways();
    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> count("select count(*)" + MINING_DEAD_LETTERS) == 1);
    long id = jdbc.sql("select id" + MINING_DEAD_LETTERS).query(Long.class).single();

    PLATFORM.reset();
    PLATFORM.user("recovers").pages(2);
    assertThat(
            Csrf.post(port, "/api/dead-letters/" + id + "/replay", "viewer", "test-viewer-password")
                .statusCode())
        .isEqualTo(403);
    var replay =
        Csrf.post(port, "/api/dead-letters/" + id + "/replay", "admin", "test-admin-password");
    assertThat(replay.statusCode()).isEqualTo(200);
    assertThat(replay.body()).contains("\"replayed\":true");

    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> "completed".equals(state(user).get("status")));
    assertThat(
            jdbc.sql("select replayed_at is not null from dead_letter where id = " + id)
                .query(Boolean.class)
                .single())
        .isTrue();
  }

  private long mine(
      String externalId,
      java.util.function.Consumer<io.quarry.platform.sim.UserScenario> scenario) {
    long user = users.upsert(externalId, "t");
    scenario.accept(PLATFORM.user(externalId));
    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> !state(user).isEmpty() && !"in_progress".equals(state(user).get("status")));
    return user;
  }
}
