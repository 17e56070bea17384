package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarry.flow.FlowEndpoints;
import io.quarry.platform.sim.ApiStyle;
import io.quarry.platform.sim.ReceivedRequest;
import io.quarry.support.QuarryIntegrationTest;
import io.quarry.user.UserRepository;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

/**
 * Streams whose error rules and rate-limit signals are configured without code, mined end to end
 * through the real broker and database from a simulated API that answers errors in the body and
 * tells its budget in headers: a throttling code (with 400 or 403) waits in a delay queue and
 * resumes with every item stored once, a "token invalid" code flags the user, an ignored page is
 * skipped, a 403 is a spent budget only when its header says no requests remain (else the token
 * lacks the rights, as by default), and a spent budget or a usage at its ceiling slows the chain
 * down before the API refuses.
 */
@QuarryIntegrationTest
@TestPropertySource(
    properties = {
      "quarry.mining.dead-letter-retries=0",
      // a Graph-style API: status 400 with {"error":{"code":N}}
      "quarry.streams.graph.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.graph.api-path=/users/{userId}/graph",
      "quarry.streams.graph.page-size=20",
      "quarry.streams.graph.pages-per-message=5",
      "quarry.streams.graph.subscribers=raw-storage",
      // a throttling code comes with 400 or 403
      "quarry.streams.graph.error-rules[0].status=400,403",
      "quarry.streams.graph.error-rules[0].body-path=/error/code",
      "quarry.streams.graph.error-rules[0].body-equals=4,17,32,613",
      "quarry.streams.graph.error-rules[0].action=rate-limited",
      "quarry.streams.graph.error-rules[0].default-wait=1s",
      "quarry.streams.graph.error-rules[1].status=400",
      "quarry.streams.graph.error-rules[1].body-path=/error/code",
      "quarry.streams.graph.error-rules[1].body-equals=190",
      "quarry.streams.graph.error-rules[1].action=unauthorized",
      // an offset API whose page may be refused with a code meaning "skip it"
      "quarry.streams.skipping.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.skipping.api-path=/users/{userId}/skipping",
      "quarry.streams.skipping.page-size=10",
      "quarry.streams.skipping.pages-per-message=5",
      "quarry.streams.skipping.subscribers=raw-storage",
      "quarry.streams.skipping.pagination.style=offset",
      "quarry.streams.skipping.pagination.total-path=/total_count",
      "quarry.streams.skipping.items.path=/records",
      "quarry.streams.skipping.error-rules[0].status=4xx",
      "quarry.streams.skipping.error-rules[0].body-path=/error/message",
      "quarry.streams.skipping.error-rules[0].body-contains=simulated error 100",
      "quarry.streams.skipping.error-rules[0].action=ignore",
      // a REST API with X-RateLimit-Remaining/Reset, answering 403 beyond its budget
      "quarry.streams.budget.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.budget.api-path=/users/{userId}/budget",
      "quarry.streams.budget.page-size=20",
      "quarry.streams.budget.pages-per-message=5",
      "quarry.streams.budget.subscribers=raw-storage",
      "quarry.streams.budget.rate-limit.remaining-header=X-RateLimit-Remaining",
      "quarry.streams.budget.rate-limit.reset-header=X-RateLimit-Reset",
      // the same API, not slowing down: its 403 means a spent budget only with no requests left
      "quarry.streams.refusing.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.refusing.api-path=/users/{userId}/refusing",
      "quarry.streams.refusing.page-size=20",
      "quarry.streams.refusing.pages-per-message=5",
      "quarry.streams.refusing.subscribers=raw-storage",
      "quarry.streams.refusing.error-rules[0].status=403",
      "quarry.streams.refusing.error-rules[0].header=X-RateLimit-Remaining",
      "quarry.streams.refusing.error-rules[0].header-equals=0",
      "quarry.streams.refusing.error-rules[0].action=rate-limited",
      "quarry.streams.refusing.rate-limit.reset-header=X-RateLimit-Reset",
      // a Graph-style usage header: x-app-usage: {"call_count":P,...}
      "quarry.streams.usage.schedule=0 0 0 1 1 ? 2099",
      "quarry.streams.usage.api-path=/users/{userId}/usage",
      "quarry.streams.usage.page-size=20",
      "quarry.streams.usage.pages-per-message=5",
      "quarry.streams.usage.subscribers=raw-storage",
      "quarry.streams.usage.rate-limit.usage-header=x-app-usage",
      "quarry.streams.usage.rate-limit.usage-path=/call_count",
      "quarry.streams.usage.rate-limit.usage-ceiling=90",
      "quarry.streams.usage.rate-limit.default-wait=1s",
    })
class ErrorRulesIT extends SimulatedPlatformTest {

  @Autowired UserRepository users;
  @Autowired ProducerTemplate camel;

  @BeforeEach
  void skippingSpeaksOffsets() {
    PLATFORM.streamStyle("skipping", ApiStyle.OFFSET);
  }

  @Test
  void aThrottlingCodeInTheBodyWaitsAndResumesWithEveryItemOnce() {
    long user = users.upsert("throttled", "token");
    // page 2 answers 400 {"error":{"code":4}} twice, then is served
    PLATFORM.user("throttled").pages(3).bodyErrorsAtPage(2, 2, 400, 4);

    tick("graph");

    assertMinedToTheEnd("graph", user, 3, 60);
    assertThat(count("select count(distinct item_id)" + items("graph", user))).isEqualTo(60);
    // two refusals, each waited out in a delay queue, then pages 2 and 3
    assertThat(PLATFORM.user("throttled").requests()).isEqualTo(5);
    assertThat(count("select count(*) from dead_letter")).isZero();
  }

  @Test
  void aThrottlingCodeInA403BodyWaitsInsteadOfFlaggingTheUser() {
    long user = users.upsert("throttled-403", "token");
    // page 2 answers 403 {"error":{"code":613}} once: without the rule, a 403 is unauthorized
    PLATFORM.user("throttled-403").pages(3).bodyErrorsAtPage(2, 1, 403, 613);

    tick("graph");

    assertMinedToTheEnd("graph", user, 3, 60);
    assertThat(count("select count(distinct item_id)" + items("graph", user))).isEqualTo(60);
    assertThat(PLATFORM.user("throttled-403").requests()).isEqualTo(4);
    assertThat(needsReauthorization(user)).isFalse();
    assertThat(count("select count(*) from dead_letter")).isZero();
  }

  @Test
  void aTokenInvalidCodeFlagsTheUserAndStopsTheChain() {
    long user = users.upsert("revoked", "token");
    PLATFORM.user("revoked").pages(3).bodyErrors(Integer.MAX_VALUE, 400, 190);

    tick("graph");

    awaitEnded("graph", user);
    assertThat(state("graph", user))
        .containsEntry("status", "stopped")
        .containsEntry("stop_reason", "unauthorized")
        .containsEntry("last_error", "HTTP 400");
    assertThat(needsReauthorization(user)).isTrue();
    assertThat(PLATFORM.user("revoked").requests()).isEqualTo(1);
    assertThat(count("select count(*) from dead_letter")).isZero();
  }

  @Test
  void anIgnoredPageIsSkippedAndTheChainGoesOn() {
    long user = users.upsert("skipper", "token");
    // 30 items in pages of 10; the second page always answers 400 with code 100
    PLATFORM.user("skipper").totalItems(30).bodyErrorsAtPage(2, Integer.MAX_VALUE, 400, 100);

    tick("skipping");

    assertMinedToTheEnd("skipping", user, 3, 20);
    assertThat(
            count(
                "select count(*)"
                    + items("skipping", user)
                    + " and item_id in (select 'skipping-skipper-1-' || n from generate_series(0, 9) n"
                    + " union all select 'skipping-skipper-1-' || n from generate_series(20, 29) n)"))
        .as("items 0-9 and 20-29, the second page skipped")
        .isEqualTo(20);
    assertThat(count("select count(*) from dead_letter")).isZero();
  }

  @Test
  void aSpentBudgetSlowsTheChainDownUntilTheResetInsteadOfBeingRefused() {
    long user = users.upsert("frugal", "token");
    // two requests a second; a third within the second would answer 403 (and stop the chain as
    // unauthorized): only waiting for X-RateLimit-Reset after the second page lets it complete
    PLATFORM.user("frugal").pages(3).requestBudget(2, Duration.ofSeconds(1));

    tick("budget");

    assertMinedToTheEnd("budget", user, 3, 60);
    assertThat(PLATFORM.user("frugal").requests()).isEqualTo(3);
  }

  @Test
  void a403WithNoRequestsRemainingWaitsForTheResetAndResumesWithEveryItemOnce() {
    long user = users.upsert("over-budget", "token");
    // two requests per 3 s window; the third answers 403 with X-RateLimit-Remaining: 0, which
    // only the stream's rule tells from a token without rights
    PLATFORM.user("over-budget").pages(3).requestBudget(2, Duration.ofSeconds(3));

    tick("refusing");

    assertMinedToTheEnd("refusing", user, 3, 60);
    assertThat(count("select count(distinct item_id)" + items("refusing", user))).isEqualTo(60);
    // pages 1 and 2, the refused third request, page 3 again once the window was reset
    List<ReceivedRequest> requests = PLATFORM.user("over-budget").recentRequests();
    assertThat(requests).hasSize(4);
    assertThat(Duration.between(requests.get(0).receivedAt(), requests.get(3).receivedAt()))
        .as("page 3 asked for again after X-RateLimit-Reset, the end of the 3 s window")
        .isGreaterThanOrEqualTo(Duration.ofSeconds(3));
    assertThat(needsReauthorization(user)).isFalse();
    assertThat(count("select count(*) from dead_letter")).isZero();
  }

  @Test
  void a403WithRequestsRemainingOrWithoutTheHeaderStillStopsTheChainAsUnauthorized() {
    long bare = users.upsert("forbidden", "token");
    long counted = users.upsert("forbidden-counted", "token");
    // a 403 without X-RateLimit-Remaining, and one that says 9 requests remain
    PLATFORM.user("forbidden").pages(3).forbidden();
    PLATFORM
        .user("forbidden-counted")
        .pages(3)
        .forbidden()
        .requestBudget(10, Duration.ofMinutes(1));

    tick("refusing");

    for (long user : List.of(bare, counted)) {
      awaitEnded("refusing", user);
      assertThat(state("refusing", user))
          .containsEntry("status", "stopped")
          .containsEntry("stop_reason", "unauthorized")
          .containsEntry("last_error", "HTTP 403");
      assertThat(needsReauthorization(user)).isTrue();
    }
    assertThat(PLATFORM.user("forbidden").requests()).isEqualTo(1);
    assertThat(PLATFORM.user("forbidden-counted").requests()).isEqualTo(1);
    assertThat(count("select count(*) from dead_letter")).isZero();
  }

  @Test
  void aUsageHeaderAtItsCeilingSlowsTheChainDownWithEveryItemOnce() {
    long user = users.upsert("busy", "token");
    // x-app-usage call_count 45, 90, 100: the second page reaches the 90 % ceiling
    PLATFORM.user("busy").pages(3).appUsage(45);

    tick("usage");

    assertMinedToTheEnd("usage", user, 3, 60);
    assertThat(count("select count(distinct item_id)" + items("usage", user))).isEqualTo(60);
    List<ReceivedRequest> requests = PLATFORM.user("busy").recentRequests();
    assertThat(requests).hasSize(3);
    assertThat(Duration.between(requests.get(1).receivedAt(), requests.get(2).receivedAt()))
        .as("page 3 waited the default wait (1 s) in a delay queue after the usage hit 90 %")
        .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
    assertThat(count("select count(*) from dead_letter")).isZero();
  }

  private void tick(String stream) {
    camel.sendBody(FlowEndpoints.schedulerWorker(stream), null);
  }

  private Map<String, Object> state(String stream, long user) {
    List<Map<String, Object>> rows =
        jdbc.sql("select * from mining_state where stream = :s and user_id = :u")
            .param("s", stream)
            .param("u", user)
            .query()
            .listOfRows();
    return rows.isEmpty() ? Map.of() : rows.get(0);
  }

  /** The user's chain completed at the end of the data, with every item stored. */
  private void assertMinedToTheEnd(String stream, long user, long pages, int items) {
    awaitEnded(stream, user);
    assertThat(state(stream, user))
        .containsEntry("status", "completed")
        .containsEntry("stop_reason", "end_of_data")
        .containsEntry("pages_mined", pages)
        .containsEntry("items_mined", (long) items);
    awaitItems(stream, user, items);
  }

  private void awaitEnded(String stream, long user) {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              Object status = state(stream, user).get("status");
              return "completed".equals(status) || "stopped".equals(status);
            });
  }

  private boolean needsReauthorization(long user) {
    return jdbc.sql("select needs_reauthorization from app_user where id = :u")
        .param("u", user)
        .query(Boolean.class)
        .single();
  }

  private static String items(String stream, long user) {
    return " from raw_item where stream = '" + stream + "' and user_id = " + user;
  }

  private void awaitItems(String stream, long user, int n) {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> count("select count(*)" + items(stream, user)) == n);
  }
}
