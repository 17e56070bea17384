package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.Routed;
import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
import io.quarry.message.MiningMessage;
import io.quarry.message.MiningMessageCodec;
import io.quarry.support.Csrf;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.user.UserRepository;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;

/**
 * Chains interrupted part-way resume where they stood: a page that needs retries, a fault that
 * outlasts the in-route retries while the next tick fires, an outage of the API in the middle of a
 * run (its messages parked), a replay of a letter whose chain was since resumed, and a tick whose
 * instance died between claim and publish. Each ends with every item stored once and every chain
 * completed for the right reason. The test profile redelivers once inside the route, 100 ms later;
 * a dead letter comes back once, 5 s later, then is parked.
 */
@QuarryIntegrationTest
@TestPropertySource(properties = "quarry.mining.dead-letter-retries=1")
class ChainResumeIT extends SimulatedPlatformTest {

  static final int ITEMS_PER_PAGE = 20;
  static final String ADMIN = "test-admin-password";

  @Autowired UserRepository users;
  @Autowired ProducerTemplate camel;
  @Autowired MeterRegistry meters;
  @Autowired MiningStateRepository states;
  @Autowired MiningScheduler scheduler;
  @Autowired BatchPublisher publisher;
  @Autowired MiningMessageCodec codec;
  @Autowired BusNames names;
  @Autowired QuarryProperties properties;
  @Autowired ObjectMapper json;
  @Autowired io.quarry.deadletter.DeadLetterRepository parked;
  @Autowired org.apache.camel.CamelContext routes;
  @LocalServerPort int port;

  @Test
  void everyPageThatNeedsARetryGetsTheWholeRedeliveryBudget() {
    long user = users.upsert("flaky", "token");
    // Each page fails once first: the one redelivery of the test profile, per page.
    PLATFORM.user("flaky").pages(12).serverErrorsPerPage(1);

    tick();

    awaitEnded(user);
    assertThat(state(user))
        .containsEntry("status", "completed")
        .containsEntry("stop_reason", "end_of_data")
        .containsEntry("pages_mined", 12L);
    awaitItems(user, 12);
    assertThat(PLATFORM.requests("flaky")).as("each page twice").isEqualTo(24);
    assertThat(count("select count(*)" + MINING_DEAD_LETTERS)).isZero();
  }

  @Test
  void aFaultThatOutlastsTheRetriesWhileATickFiresIsResumedByThatTick() throws Exception {
    long user = users.upsert("interrupted", "token");
    PLATFORM.user("interrupted").pages(7).serverErrorsFromPage(6);
    double staleBefore = counter("quarry.mining.messages.stale");

    // The dead letter's retry waits until the next tick has fired.
    routes.getRouteController().stopRoute("dead-letter-retry");
    UUID first = tick();
    // Pages 1-5 (one message) are mined; page 6 fails twice and the message is dead-lettered.
    await().atMost(Duration.ofSeconds(20)).until(() -> "failed".equals(state(user).get("status")));
    awaitItems(user, 5);
    assertThat(state(user)).containsEntry("current_marker", "m-6");

    PLATFORM.user("interrupted").recovered();
    UUID second = tick();
    routes.getRouteController().startRoute("dead-letter-retry");

    awaitEnded(user);
    assertThat(state(user))
        .containsEntry("status", "completed")
        .containsEntry("stop_reason", "end_of_data")
        .containsEntry("run_id", second)
        .containsEntry("resumed_from", first)
        .as("pages of the resuming run")
        .containsEntry("pages_mined", 2L);
    awaitItems(user, 7);
    assertThat(lastRun()).containsEntry("users_resumed", 1).containsEntry("users_scheduled", 1);
    // The first run's message comes back from its retry and is dropped, counted, never mined.
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> counter("quarry.mining.messages.stale") - staleBefore == 1);
    assertThat(PLATFORM.requests("interrupted"))
        .as("pages 1-5, page 6 twice, then pages 6 and 7 once")
        .isEqualTo(9);
    assertThat(state(user)).containsEntry("run_id", second).containsEntry("status", "completed");
    assertThat(count("select count(*)" + MINING_DEAD_LETTERS)).isZero();
    assertItemsOnce(user, 7);
  }

  @Test
  void anOutageInTheMiddleOfARunParksTheChainsAndTheNextTickMinesTheirTails() throws Exception {
    List<Long> ids = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      ids.add(users.upsert("outage-" + i, "token"));
      PLATFORM.user("outage-" + i).pages(8).serverErrorsFromPage(6);
    }

    UUID first = tick();
    // Every chain fails at page 6, comes back once from the dead-letter retry, fails again and is
    // parked: the outage outlasts every retry.
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> count("select count(*)" + MINING_DEAD_LETTERS) == 4);
    for (long id : ids) {
      // marked failed once its dead letter is confirmed, which may be after parking
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(state(id))
                      .containsEntry("status", "failed")
                      .containsEntry("stop_reason", null));
      awaitItems(id, 5);
    }

    for (int i = 1; i <= 4; i++) {
      PLATFORM.user("outage-" + i).recovered();
    }
    UUID second = tick();
    for (long id : ids) {
      awaitEnded(id);
      assertThat(state(id))
          .as("user " + id)
          .containsEntry("status", "completed")
          .containsEntry("stop_reason", "end_of_data")
          .containsEntry("resumed_from", first)
          .containsEntry("run_id", second);
      awaitItems(id, 8);
      assertItemsOnce(id, 8);
    }
    assertThat(lastRun()).containsEntry("users_resumed", 4);

    // A replay of a parked letter whose chain is being mined is refused, and the letter stays.
    long user = ids.get(0);
    long letter =
        jdbc.sql("select id" + MINING_DEAD_LETTERS + " and convert_from(body, 'UTF8') like :u")
            .param("u", "%\"userId\":" + user + ",%")
            .query(Long.class)
            .single();
    jdbc.sql("update mining_state set status = 'in_progress' where user_id = :u")
        .param("u", user)
        .update();
    HttpResponse<String> busy = replay(letter);
    assertThat(busy.statusCode()).isEqualTo(409);
    assertThat(busy.body()).contains("chain of user " + user).contains("nothing was replayed");
    assertThat(count("select count(*) from dead_letter where replayed_at is null")).isEqualTo(4);
    jdbc.sql("update mining_state set status = 'completed' where user_id = :u")
        .param("u", user)
        .update();

    // Replayed once the chain has ended: it resumes at the letter's page, finds it stored by the
    // run that resumed the chain, and ends there without storing or counting anything twice.
    int requestsBefore = PLATFORM.requests("outage-1");
    HttpResponse<String> replayed = replay(letter);
    assertThat(replayed.statusCode()).isEqualTo(200);
    JsonNode answer = json.readTree(replayed.body());
    assertThat(answer.path("replayed").asBoolean()).isTrue();
    assertThat(answer.path("detail").asText()).contains("resumes at marker m-6");
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> "no_new_data".equals(state(user).get("stop_reason")));
    assertThat(state(user))
        .containsEntry("status", "completed")
        .containsEntry("resumed_from", first)
        .containsEntry("pages_mined", 0L);
    assertThat(PLATFORM.requests("outage-1")).isEqualTo(requestsBefore + 1);
    assertItemsOnce(user, 8);
    assertThat(replay(letter).body()).contains("\"replayed\":false");
  }

  @Test
  void aReplayOfALetterWhoseUserIsGoneIsRefusedWithTheReason() {
    byte[] body =
        ("{\"version\":1,\"stream\":\"posts\",\"userId\":987654321,\"runId\":\""
                + UUID.randomUUID()
                + "\",\"limit\":100,\"currentMarker\":\"m-4\",\"consecutiveBatchRepeats\":0,"
                + "\"consecutiveBatchRepeatsLimit\":5,\"pagesMined\":3,\"itemsMined\":60}")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    long letter =
        parked.park(
            names.miningQueue("posts"),
            null,
            "{}",
            "application/json",
            null,
            body,
            "simulated server error",
            "io.quarry.platform.TransientPlatformException",
            "posts-miner-pages",
            4,
            false);

    HttpResponse<String> refused = replay(letter);

    assertThat(refused.statusCode()).isEqualTo(409);
    assertThat(refused.body()).contains("user 987654321 no longer exists");
    assertThat(
            count("select count(*) from dead_letter where replayed_at is null and id = " + letter))
        .isEqualTo(1);
  }

  @Test
  void aTickWhoseInstanceDiedBetweenClaimAndPublishHasItsUsersMinedByTheNextTick()
      throws Exception {
    List<Long> ids = new ArrayList<>();
    for (int i = 1; i <= 6; i++) {
      ids.add(users.upsert("claimed-" + i, "token"));
      PLATFORM.user("claimed-" + i).pages(3);
    }
    double staleBefore = counter("quarry.mining.messages.stale");
    // What a JVM killed during its fan-out leaves: the run open, every user claimed, the messages
    // of the first two users confirmed and recorded, those of the next two sent but not recorded
    // (the batch in flight), the rest never sent; and no sign of life since. The miners wait, so
    // that the messages are still queued when the next tick comes.
    routes.getRouteController().stopRoute("posts-miner");
    UUID dead = UUID.randomUUID();
    states.startRun(dead, "posts", "an-instance-that-died");
    List<MiningStateRepository.Claim> claimed =
        states.claim("posts", dead, ids, Duration.ofHours(1));
    assertThat(claimed).extracting(MiningStateRepository.Claim::userId).isEqualTo(ids);
    publish(dead, ids.subList(0, 4));
    states.published(dead, 2, ids.get(1));
    jdbc.sql(
            "update scheduler_run set heartbeat_at = now() - interval '10 minutes' where run_id = :r")
        .param("r", dead)
        .update();

    UUID next = tick();
    routes.getRouteController().startRoute("posts-miner");

    for (long id : ids) {
      awaitEnded(id);
      assertThat(state(id)).as("user " + id).containsEntry("status", "completed");
      awaitItems(id, 3);
      assertItemsOnce(id, 3);
    }
    assertThat(run(dead))
        .containsEntry("outcome", "failed")
        .containsEntry("users_scheduled", 2)
        .extractingByKey("error", org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .contains("abandoned")
        .contains("2 users published, 4 released to the next tick");
    assertThat(run(next)).containsEntry("outcome", "succeeded").containsEntry("users_scheduled", 4);
    assertThat(state(ids.get(0))).containsEntry("run_id", dead);
    assertThat(state(ids.get(2))).containsEntry("run_id", next);
    // The dead run's messages of the users the next tick took over are dropped, not mined twice.
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> counter("quarry.mining.messages.stale") - staleBefore == 2);
    assertThat(PLATFORM.requests("claimed-3")).isEqualTo(3);
  }

  @Test
  void atStartUpTheTicksAnEarlierLifeOfThisInstanceLeftRunningAreClosed() {
    long user = users.upsert("earlier-life", "token");
    PLATFORM.user("earlier-life").pages(2);
    UUID dead = UUID.randomUUID();
    states.startRun(dead, "posts", properties.scheduler().effectiveInstanceId());
    states.claim("posts", dead, List.of(user), Duration.ofHours(1));
    jdbc.sql("update scheduler_run set started_at = now() - interval '1 hour' where run_id = :r")
        .param("r", dead)
        .update();
    UUID otherInstance = UUID.randomUUID();
    states.startRun(otherInstance, "posts", "another-instance");

    scheduler.releaseTicksOfEarlierLife(java.time.Instant.now().minusSeconds(60));

    assertThat(run(dead))
        .containsEntry("outcome", "failed")
        .extractingByKey("error", org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .contains("its instance restarted");
    assertThat(run(otherInstance)).as("alive elsewhere").containsEntry("outcome", "running");
    assertThat(state(user)).containsEntry("status", "failed");
    tick();
    awaitEnded(user);
    assertThat(state(user)).containsEntry("stop_reason", "end_of_data");
    awaitItems(user, 2);
  }

  private UUID tick() {
    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);
    return (UUID) lastRun().get("run_id");
  }

  private void publish(UUID run, List<Long> ids) {
    List<Routed> messages = new ArrayList<>();
    for (long id : ids) {
      messages.add(
          new Routed(
              "",
              names.miningQueue("posts"),
              codec.write(MiningMessage.first("posts", id, run, 100, 5))));
    }
    publisher.publishAll(messages, 10_000);
  }

  private HttpResponse<String> replay(long letter) {
    return Csrf.post(port, "/api/dead-letters/" + letter + "/replay", "admin", ADMIN);
  }

  private Map<String, Object> lastRun() {
    return jdbc.sql(
            "select * from scheduler_run where stream = 'posts' order by started_at desc limit 1")
        .query()
        .singleRow();
  }

  private Map<String, Object> run(UUID run) {
    return jdbc.sql("select * from scheduler_run where run_id = :r")
        .param("r", run)
        .query()
        .singleRow();
  }

  private void awaitEnded(long user) {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              Object status = state(user).get("status");
              return "completed".equals(status) || "stopped".equals(status);
            });
  }

  private void awaitItems(long user, int pages) {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                count("select count(*) from raw_item where stream = 'posts' and user_id = " + user)
                    == (long) pages * ITEMS_PER_PAGE);
  }

  /** Every item of the user's pages stored, and counted by analytics, exactly once. */
  private void assertItemsOnce(long user, int pages) {
    long expected = (long) pages * ITEMS_PER_PAGE;
    assertThat(
            count(
                "select count(distinct item_id) from raw_item where stream = 'posts' and user_id = "
                    + user))
        .isEqualTo(expected);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                count(
                    "select coalesce(sum(items), 0) from analytics_daily where stream = 'posts'"
                        + " and user_id = "
                        + user),
            total -> total == expected);
    assertThat(
            count(
                "select coalesce(sum(items), 0) from analytics_daily where stream = 'posts'"
                    + " and user_id = "
                    + user))
        .as("analytics counted each page once")
        .isEqualTo(expected);
  }

  private double counter(String name) {
    return meters.find(name).counters().stream().mapToDouble(c -> c.count()).sum();
  }
}
