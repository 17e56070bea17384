package io.quarry.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.platform.ErrorRule.Action;
import io.quarry.platform.sim.ApiStyle;
import io.quarry.platform.sim.PlatformSimulator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A stream's error rules decide what an answer means, the first match winning, with today's status
 * table behind them; each kind of match and each action against the simulated API.
 */
class ErrorRulesTest {

  private static final String PATH = "/users/{userId}/posts";
  private static final String TOKEN = "EAAB-secret-token";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Authentication BEARER =
      new Authentication(TokenPlacement.HEADER, "Authorization", "Bearer", "access_token");
  private static final Pagination CURSOR = Pagination.cursor("/nextMarker", "/hasMore");

  /** The Graph-style rules of docs/configuration.md. */
  static final ErrorRule THROTTLED =
      rule(List.of("400"), "/error/code", List.of("4", "17", "32", "613"), null, null)
          .action(Action.RATE_LIMITED)
          .build();

  static final ErrorRule TOKEN_INVALID =
      rule(List.of("400"), "/error/code", List.of("190"), null, null)
          .action(Action.UNAUTHORIZED)
          .build();

  private static PlatformSimulator simulator;
  private PlatformClient client;

  @BeforeAll
  static void startSimulator() {
    simulator = PlatformSimulator.start(0);
  }

  @AfterAll
  static void stopSimulator() {
    simulator.close();
  }

  @BeforeEach
  void newClient() {
    simulator.reset();
    simulator.expectedToken("u1", TOKEN);
    client = new PlatformClient(PlatformClient.Settings.defaults(simulator.baseUrl()), JSON);
  }

  @AfterEach
  void closeClient() {
    client.close();
  }

  @Test
  void withoutRulesABodyErrorIsAnUnexpectedStatusAsToday() {
    simulator.user("u1").bodyErrors(1, 400, 4);

    assertThatThrownBy(() -> fetch(api(List.of(), RateLimit.NONE), null))
        .isInstanceOf(UnexpectedStatusException.class)
        .hasMessageContaining("answered unexpected status 400");
  }

  @Test
  void aThrottlingCodeInTheBodyIsARateLimitWithTheRulesWait() {
    simulator.user("u1").bodyErrors(1, 400, 613);
    ErrorRule throttled =
        rule(List.of("400"), "/error/code", List.of("4", "17", "32", "613"), null, null)
            .action(Action.RATE_LIMITED)
            .defaultWait(Duration.ofSeconds(7))
            .build();

    assertThatThrownBy(() -> fetch(api(List.of(TOKEN_INVALID, throttled), RateLimit.NONE), null))
        .isInstanceOfSatisfying(
            RateLimitedException.class,
            e -> assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(7)))
        .hasMessageContaining("(400 (error-rules[1]: rate-limited))");
    // the rate limit was one answer: the page is served when asked again
    assertThat(fetch(api(List.of(TOKEN_INVALID, throttled), RateLimit.NONE), null).items())
        .hasSize(20);
  }

  @Test
  void aThrottlingCodeWithoutAnyWaitSettingWaitsOneSecond() {
    simulator.user("u1").bodyErrors(1, 400, 4);

    assertThatThrownBy(() -> fetch(api(List.of(THROTTLED), RateLimit.NONE), null))
        .isInstanceOfSatisfying(
            RateLimitedException.class,
            e -> assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(1)));
  }

  @Test
  void aTokenInvalidCodeIsUnauthorizedWithItsStatus() {
    simulator.user("u1").bodyErrors(1, 400, 190);

    assertThatThrownBy(() -> fetch(api(List.of(THROTTLED, TOKEN_INVALID), RateLimit.NONE), null))
        .isInstanceOfSatisfying(
            UnauthorizedException.class, e -> assertThat(e.status()).isEqualTo(400))
        .hasMessageContaining("error-rules[1]: unauthorized");
  }

  @Test
  void anUnmatchedCodeFallsThroughToTheStatusTable() {
    simulator.user("u1").bodyErrors(1, 400, 100);

    assertThatThrownBy(() -> fetch(api(List.of(THROTTLED, TOKEN_INVALID), RateLimit.NONE), null))
        .isInstanceOf(UnexpectedStatusException.class)
        .hasMessageContaining("unexpected status 400");
  }

  @Test
  void aBodyTextContainedIgnoringCaseMakesATransientFailure() {
    simulator.user("u1").bodyErrors(1, 400, 2);
    ErrorRule flaky =
        rule(List.of("4xx"), "/error/message", List.of(), "SIMULATED ERROR", null)
            .action(Action.TRANSIENT)
            .build();

    assertThatThrownBy(() -> fetch(api(List.of(flaky), RateLimit.NONE), null))
        .isInstanceOf(TransientPlatformException.class)
        .hasMessageContaining("answered 400 (error-rules[0]: transient)");
  }

  @Test
  void aServerErrorARuleCallsPermanentIsNotRetried() {
    simulator.user("u1").serverErrors(1);
    ErrorRule permanent =
        rule(List.of("500-599"), null, List.of(), null, null).action(Action.PERMANENT).build();

    assertThatThrownBy(() -> fetch(api(List.of(permanent), RateLimit.NONE), null))
        .isInstanceOfSatisfying(
            UnexpectedStatusException.class, e -> assertThat(e.transientFailure()).isFalse())
        .hasMessageContaining("answered 500 (error-rules[0]: permanent)");
  }

  @Test
  void theFirstMatchingRuleWins() {
    simulator.user("u1").bodyErrors(2, 400, 4);
    ErrorRule anyClientError =
        rule(List.of("400-499"), null, List.of(), null, null).action(Action.PERMANENT).build();

    assertThatThrownBy(() -> fetch(api(List.of(anyClientError, THROTTLED), RateLimit.NONE), null))
        .isInstanceOf(UnexpectedStatusException.class);
    assertThatThrownBy(() -> fetch(api(List.of(THROTTLED, anyClientError), RateLimit.NONE), null))
        .isInstanceOf(RateLimitedException.class);
  }

  @Test
  void a403IsARateLimitOnlyWhenTheHeaderSaysNoRequestsRemain() {
    ErrorRule exhausted =
        rule(List.of("403"), null, List.of(), null, "X-RateLimit-Remaining")
            .headerEquals(List.of("0"))
            .action(Action.RATE_LIMITED)
            .build();
    RateLimit reset = signals("X-RateLimit-Remaining", null, null, null);
    StreamApi api = api(List.of(exhausted), reset);
    simulator.user("u1").requestBudget(1, Duration.ofSeconds(30));
    fetch(api, null); // spends the budget

    assertThatThrownBy(() -> fetch(api, null))
        .isInstanceOfSatisfying(
            RateLimitedException.class,
            e ->
                assertThat(e.retryAfter())
                    .isPositive()
                    .isLessThanOrEqualTo(Duration.ofSeconds(31)));

    simulator.reset();
    simulator.user("u1").forbidden();
    assertThatThrownBy(() -> fetch(api, null))
        .isInstanceOfSatisfying(
            UnauthorizedException.class, e -> assertThat(e.status()).isEqualTo(403));
  }

  @Test
  void anIgnoredOffsetPageIsSkippedAndTheChainGoesOnAtTheNextOffset() {
    simulator
        .user("u1")
        .style(ApiStyle.OFFSET)
        .totalItems(25)
        .bodyErrorsAtPage(2, Integer.MAX_VALUE, 400, 100);
    ErrorRule unsupported =
        rule(List.of("400"), "/error/code", List.of("100"), null, null)
            .action(Action.IGNORE)
            .build();
    StreamApi api =
        new StreamApi(
            PATH,
            "/records",
            "/id",
            new Pagination(
                Pagination.Style.OFFSET,
                "limit",
                null,
                null,
                null,
                null,
                null,
                "offset",
                null,
                1,
                "/total_count"),
            BEARER,
            List.of(unsupported),
            RateLimit.NONE);

    List<Page> pages = walk(api, 10);

    assertThat(pages).extracting(Page::nextMarker).containsExactly("10", "20", "25");
    assertThat(pages.get(1).items()).isEmpty();
    assertThat(ids(pages))
        .containsExactlyElementsOf(
            Stream.concat(IntStream.range(0, 10).boxed(), IntStream.range(20, 25).boxed())
                .map(i -> "posts-u1-1-" + i)
                .toList());
  }

  @Test
  void anIgnoredCursorPageWithoutANextCursorEndsTheData() {
    simulator.user("u1").bodyErrors(1, 400, 100);
    ErrorRule unsupported =
        rule(List.of("400"), "/error/code", List.of("100"), null, null)
            .action(Action.IGNORE)
            .build();

    Page page = fetch(api(List.of(unsupported), RateLimit.NONE), "m-2");

    assertThat(page.items()).isEmpty();
    assertThat(page.hasMore()).isFalse();
    assertThat(page.nextMarker()).isNull();
  }

  @Test
  void theRemainingBudgetAtItsFloorMakesTheChainWaitUntilTheReset() {
    simulator.user("u1").pages(5).requestBudget(3, Duration.ofSeconds(20));
    StreamApi api = api(List.of(), signals("X-RateLimit-Remaining", 1, null, null));

    Page first = fetch(api, null);
    Page second = fetch(api, first.nextMarker());

    assertThat(first.waitBeforeNext()).isNull(); // 2 left
    assertThat(second.items()).hasSize(20); // the page is kept: only the next one waits
    assertThat(second.waitBeforeNext())
        .isPositive()
        .isLessThanOrEqualTo(Duration.ofSeconds(21)); // 1 left: at the floor
  }

  @Test
  void aUsageHeaderAtItsCeilingMakesTheChainWaitTheDefault() {
    simulator.user("u1").pages(5).appUsage(45);
    RateLimit usage =
        new RateLimit(null, null, null, "x-app-usage", "/call_count", 90.0, Duration.ofSeconds(9));
    StreamApi api = api(List.of(), usage);

    Page first = fetch(api, null); // 45 %
    Page second = fetch(api, first.nextMarker()); // 90 %

    assertThat(first.waitBeforeNext()).isNull();
    assertThat(second.waitBeforeNext()).isEqualTo(Duration.ofSeconds(9));
  }

  @Test
  void withoutSignalsAPageNeverWaits() {
    simulator.user("u1").requestBudget(1, Duration.ofSeconds(20)).appUsage(100);

    assertThat(fetch(api(List.of(), RateLimit.NONE), null).waitBeforeNext()).isNull();
  }

  @Test
  void aResetBelowEpochSecondsIsReadAsSecondsFromNow() {
    RateLimit delta = signals("X-Remaining", 0, null, null);
    ErrorAnswer answer =
        new ErrorAnswer(
            200,
            new org.apache.hc.core5.http.Header[] {
              new org.apache.hc.core5.http.message.BasicHeader("X-Remaining", "0"),
              new org.apache.hc.core5.http.message.BasicHeader("X-RateLimit-Reset", "42")
            },
            new byte[0],
            JSON);

    assertThat(delta.slowDown(answer, JSON, java.time.Instant.now()))
        .isEqualTo(Duration.ofSeconds(42));
    assertThat(delta.waitAfterRefusal(answer, null, java.time.Instant.now()))
        .isEqualTo(Duration.ofSeconds(42));
  }

  @Test
  void retryAfterWinsOverTheResetHeaderAndAPlainUsageNumberIsRead() {
    java.time.Instant now = java.time.Instant.ofEpochSecond(2_000_000_000L);
    RateLimit signals =
        new RateLimit(
            null, null, "X-RateLimit-Reset", "X-Usage", null, 80.0, Duration.ofMinutes(3));
    ErrorAnswer both =
        answer("Retry-After", "5", "X-RateLimit-Reset", Long.toString(now.getEpochSecond() + 60));
    ErrorAnswer resetOnly = answer("X-RateLimit-Reset", Long.toString(now.getEpochSecond() + 60));
    ErrorAnswer resetPassed = answer("X-RateLimit-Reset", Long.toString(now.getEpochSecond() - 1));

    assertThat(signals.waitAfterRefusal(both, Duration.ofHours(1), now))
        .isEqualTo(Duration.ofSeconds(5));
    assertThat(signals.waitAfterRefusal(resetOnly, Duration.ofHours(1), now))
        .isEqualTo(Duration.ofSeconds(60));
    assertThat(signals.waitAfterRefusal(answer(), Duration.ofHours(1), now))
        .isEqualTo(Duration.ofHours(1));
    assertThat(signals.waitAfterRefusal(answer(), null, now)).isEqualTo(Duration.ofMinutes(3));
    assertThat(signals.slowDown(answer("X-Usage", "79.5"), JSON, now)).isNull();
    assertThat(signals.slowDown(answer("X-Usage", "80"), JSON, now))
        .isEqualTo(Duration.ofMinutes(3));
    assertThat(signals.slowDown(answer("X-Usage", "lots"), JSON, now)).isNull();
    // a reset that has passed: no reason to wait
    assertThat(
            signals.slowDown(
                answer(
                    "X-Usage", "95", "X-RateLimit-Reset", resetPassed.header("X-RateLimit-Reset")),
                JSON,
                now))
        .isNull();
  }

  private static ErrorAnswer answer(String... headers) {
    org.apache.hc.core5.http.Header[] all = new org.apache.hc.core5.http.Header[headers.length / 2];
    for (int i = 0; i < all.length; i++) {
      all[i] = new org.apache.hc.core5.http.message.BasicHeader(headers[2 * i], headers[2 * i + 1]);
    }
    return new ErrorAnswer(200, all, new byte[0], JSON);
  }

  @Test
  void aRuleThatCannotWorkIsRefusedNamingItsKey() {
    assertThatThrownBy(
            () -> rule(List.of(), null, List.of(), null, null).action(Action.IGNORE).build())
        .isInstanceOfSatisfying(
            InvalidApiSettingException.class, e -> assertThat(e.key()).isEqualTo("status"));
    assertThatThrownBy(() -> rule(List.of("400"), null, List.of(), null, null).build())
        .isInstanceOfSatisfying(
            InvalidApiSettingException.class, e -> assertThat(e.key()).isEqualTo("action"));
    assertThatThrownBy(
            () ->
                rule(List.of(), "error/code", List.of(), null, null).action(Action.IGNORE).build())
        .isInstanceOfSatisfying(
            InvalidApiSettingException.class, e -> assertThat(e.key()).isEqualTo("body-path"));
    assertThatThrownBy(
            () -> rule(List.of(), null, List.of("4"), null, null).action(Action.IGNORE).build())
        .isInstanceOfSatisfying(
            InvalidApiSettingException.class, e -> assertThat(e.key()).isEqualTo("body-path"));
    assertThatThrownBy(
            () -> rule(List.of("4x"), null, List.of(), null, null).action(Action.IGNORE).build())
        .isInstanceOfSatisfying(
            InvalidApiSettingException.class, e -> assertThat(e.key()).isEqualTo("status"));
    assertThatThrownBy(
            () -> new RateLimit(null, null, null, "x-app-usage", "call_count", null, null))
        .isInstanceOfSatisfying(
            InvalidApiSettingException.class,
            e -> assertThat(e.key()).isEqualTo("rate-limit.usage-path"));
    assertThatThrownBy(() -> new RateLimit(null, 5, null, null, null, null, null))
        .isInstanceOfSatisfying(
            InvalidApiSettingException.class,
            e -> assertThat(e.key()).isEqualTo("rate-limit.remaining-header"));
    assertThat(Action.of("rate-limited")).isEqualTo(Action.RATE_LIMITED);
    assertThat(Action.of("retry")).isNull();
  }

  @Test
  void statusRangesAndClassesMatchTheirStatuses() {
    ErrorRule rule =
        rule(List.of("408", "500-503", "4xx"), null, List.of(), null, null)
            .action(Action.TRANSIENT)
            .build();
    assertThat(rule.matchesStatus(408)).isTrue();
    assertThat(rule.matchesStatus(503)).isTrue();
    assertThat(rule.matchesStatus(504)).isFalse();
    assertThat(rule.matchesStatus(451)).isTrue();
    assertThat(rule.matchesStatus(200)).isFalse();
    ErrorRule anyStatus =
        rule(List.of(), "/error", List.of(), null, null).action(Action.TRANSIENT).build();
    assertThat(anyStatus.matchesStatus(200)).isFalse(); // a 2xx only when a rule names it
    assertThat(anyStatus.matchesStatus(302)).isTrue();
  }

  private Page fetch(StreamApi api, String position) {
    return client.fetch(api, "u1", TOKEN, 20, position);
  }

  private List<Page> walk(StreamApi api, int limit) {
    List<Page> pages = new ArrayList<>();
    String position = null;
    do {
      Page page = client.fetch(api, "u1", TOKEN, limit, position);
      pages.add(page);
      position = page.hasMore() ? page.nextMarker() : null;
    } while (position != null && pages.size() < 50);
    return pages;
  }

  private static List<String> ids(List<Page> pages) {
    return pages.stream()
        .flatMap(page -> page.items().stream())
        .map(item -> item.get("id"))
        .map(JsonNode::asText)
        .toList();
  }

  private static StreamApi api(List<ErrorRule> rules, RateLimit rateLimit) {
    return new StreamApi(PATH, "/items", "/id", CURSOR, BEARER, rules, rateLimit);
  }

  private static RateLimit signals(
      String remainingHeader, Integer floor, String usageHeader, Double ceiling) {
    return new RateLimit(
        remainingHeader, floor, "X-RateLimit-Reset", usageHeader, null, ceiling, null);
  }

  static RuleBuilder rule(
      List<String> statuses, String bodyPath, List<String> equals, String contains, String header) {
    return new RuleBuilder(statuses, bodyPath, equals, contains, header);
  }

  /** A rule, one setting at a time. */
  static final class RuleBuilder {
    private final List<String> statuses;
    private final String bodyPath;
    private final List<String> bodyEquals;
    private final String bodyContains;
    private final String header;
    private List<String> headerEquals = List.of();
    private Action action;
    private Duration wait;

    RuleBuilder(
        List<String> statuses,
        String bodyPath,
        List<String> bodyEquals,
        String bodyContains,
        String header) {
      this.statuses = statuses;
      this.bodyPath = bodyPath;
      this.bodyEquals = bodyEquals;
      this.bodyContains = bodyContains;
      this.header = header;
    }

    RuleBuilder headerEquals(List<String> values) {
      headerEquals = values;
      return this;
    }

    RuleBuilder action(Action value) {
      action = value;
      return this;
    }

    RuleBuilder defaultWait(Duration value) {
      wait = value;
      return this;
    }

    ErrorRule build() {
      return new ErrorRule(
          statuses, bodyPath, bodyEquals, bodyContains, header, headerEquals, null, action, wait);
    }
  }
}
