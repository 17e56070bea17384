package io.quarry.platform.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PlatformSimulatorTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private static PlatformSimulator simulator;

  @BeforeAll
  static void start() {
    simulator = PlatformSimulator.start(0);
  }

  @AfterAll
  static void stop() {
    simulator.close();
  }

  @BeforeEach
  void reset() {
    simulator.reset();
  }

  @Test
  void theSameRequestGivesTheSameBodyEvenFromAnotherInstance() {
    String first = get("/users/u1/posts?limit=10&after=m-2", "t").body();
    String again = get("/users/u1/posts?limit=10&after=m-2", "t").body();

    try (PlatformSimulator other = PlatformSimulator.start(0)) {
      String elsewhere = send(other.baseUrl(), "/users/u1/posts?limit=10&after=m-2", "t").body();
      assertThat(elsewhere).isEqualTo(first);
    }
    assertThat(again).isEqualTo(first);
    assertThat(first).isNotEqualTo(get("/users/u2/posts?limit=10&after=m-2", "t").body());
  }

  @Test
  void walksTheDefaultPagesToALastPageWithoutMarker() {
    simulator.defaultPages(4);

    List<JsonNode> pages = walk("u1", "posts", 100);

    assertThat(pages).hasSize(4);
    assertThat(pages.get(0).get("nextMarker").asText()).isEqualTo("m-2");
    assertThat(pages.get(3).get("hasMore").asBoolean()).isFalse();
    assertThat(pages.get(3).has("nextMarker")).isFalse();
    assertThat(ids(pages)).hasSize(80).doesNotHaveDuplicates();
    assertThat(simulator.requests("u1")).isEqualTo(4);
    assertThat(simulator.totalRequests()).isEqualTo(4);
  }

  @Test
  void itemIdsDifferPerStreamAndClickStreamsCarryRawClickFields() {
    JsonNode post = page("u1", "posts", 5, null).get("items").get(0);
    JsonNode click = page("u1", "ad-clicks", 5, null).get("items").get(0);

    assertThat(post.get("id").asText()).isEqualTo("posts-u1-1-0");
    assertThat(click.get("id").asText()).isEqualTo("ad-clicks-u1-1-0");
    assertThat(post.has("adId")).isFalse();
    assertThat(click.get("adId").asText()).startsWith("ad-");
    assertThat(click.get("cost").asText()).matches("0\\.\\d\\d");
    assertThat(Instant.parse(click.get("clickedAt").asText()))
        .isBefore(Instant.parse(click.get("createdAt").asText()));
    assertThat(click.get("userId").asText()).isEqualTo("u1");
    assertThat(click.get("stream").asText()).isEqualTo("ad-clicks");
  }

  @Test
  void itemsAreSpreadOverSeveralDays() {
    Set<Object> days = new HashSet<>();
    for (JsonNode item : page("u1", "posts", 100, null).get("items")) {
      days.add(Instant.parse(item.get("createdAt").asText()).atZone(ZoneOffset.UTC).toLocalDate());
    }
    assertThat(days).hasSizeGreaterThanOrEqualTo(3);
  }

  @Test
  void servesMinOfLimitAndTwentyItemsUnlessConfigured() {
    assertThat(page("u1", "posts", 5, null).get("items")).hasSize(5);
    assertThat(page("u1", "posts", 100, null).get("items")).hasSize(20);
    simulator.user("u2").itemsPerPage(7);
    assertThat(page("u2", "posts", 100, null).get("items")).hasSize(7);
    assertThat(page("u2", "posts", 3, null).get("items")).hasSize(3);
  }

  @Test
  void aUserWithZeroPagesGetsOneEmptyLastPage() {
    simulator.user("u1").pages(0);

    JsonNode page = page("u1", "posts", 10, null);

    assertThat(page.get("items")).isEmpty();
    assertThat(page.get("hasMore").asBoolean()).isFalse();
  }

  @Test
  void acceptsBearerOrQueryTokensAndRefusesMissingOrWrongOnes() {
    assertThat(get("/users/u1/posts", null).statusCode()).isEqualTo(401);
    assertThat(get("/users/u1/posts?access_token=x", null).statusCode()).isEqualTo(200);
    assertThat(get("/users/u1/posts", "x").statusCode()).isEqualTo(200);

    simulator.expectedToken("u1", "right");

    assertThat(get("/users/u1/posts", "wrong").statusCode()).isEqualTo(401);
    assertThat(get("/users/u1/posts?access_token=wrong", null).statusCode()).isEqualTo(401);
    assertThat(get("/users/u1/posts", "right").statusCode()).isEqualTo(200);
    assertThat(get("/users/u2/posts", "anything").statusCode()).isEqualTo(200);
  }

  @Test
  void unauthorizedAndForbiddenUsersAreRefusedEveryTime() {
    simulator.user("u1").unauthorized();
    simulator.user("u2").forbidden();

    for (int i = 0; i < 3; i++) {
      assertThat(get("/users/u1/posts", "t").statusCode()).isEqualTo(401);
      assertThat(get("/users/u2/posts", "t").statusCode()).isEqualTo(403);
    }
  }

  @Test
  void aServerErrorBurstEndsAndAlwaysFailingDoesNot() {
    simulator.user("u1").serverErrors(2);
    simulator.user("u2").serverErrorsAlways();

    assertThat(statuses("u1", 3)).containsExactly(500, 500, 200);
    assertThat(statuses("u2", 3)).containsExactly(500, 500, 500);
  }

  @Test
  void aFlakyUserFailsEachPageTheGivenTimesBeforeServingIt() {
    simulator.faults(List.of("u1=flaky:2"));

    assertThat(statuses("u1", 3)).containsExactly(500, 500, 200);
    List<Integer> page2 = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      page2.add(get("/users/u1/posts?after=m-2", "t").statusCode());
    }
    assertThat(page2).containsExactly(500, 500, 200);
    assertThat(get("/users/u1/ads", "t").statusCode()).as("each stream's pages").isEqualTo(500);
  }

  @Test
  void anOutageFromAPageOnLastsUntilTheUserRecovers() {
    simulator.user("u1").serverErrorsFromPage(3);

    assertThat(get("/users/u1/posts?after=m-2", "t").statusCode()).isEqualTo(200);
    assertThat(get("/users/u1/posts?after=m-3", "t").statusCode()).isEqualTo(500);
    assertThat(get("/users/u1/posts?after=m-4", "t").statusCode()).isEqualTo(500);
    simulator.user("u1").recovered();
    assertThat(get("/users/u1/posts?after=m-3", "t").statusCode()).isEqualTo(200);
  }

  @Test
  void rateLimitingAnswers429WithRetryAfterThenServes() {
    simulator.user("u1").rateLimited(2, Duration.ofSeconds(3));

    HttpResponse<String> limited = get("/users/u1/posts", "t");

    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).contains("3");
    assertThat(statuses("u1", 2)).containsExactly(429, 200);
  }

  @Test
  void aRepeatedMarkerServesTheSamePageForever() {
    simulator.user("u1").pages(5).repeatMarkerFromPage(2);

    JsonNode second = page("u1", "posts", 10, "m-2");
    JsonNode again = page("u1", "posts", 10, second.get("nextMarker").asText());

    assertThat(page("u1", "posts", 10, null).get("nextMarker").asText()).isEqualTo("m-2");
    assertThat(second.get("nextMarker").asText()).isEqualTo("m-2");
    assertThat(second.get("hasMore").asBoolean()).isTrue();
    assertThat(again).isEqualTo(second);
  }

  @Test
  void aCycleGoesBackToThePreviousMarker() {
    simulator.user("u1").pages(5).cycleAtPage(3);

    List<String> markers = new ArrayList<>();
    String marker = null;
    for (int i = 0; i < 5; i++) {
      marker = page("u1", "posts", 10, marker).get("nextMarker").asText();
      markers.add(marker);
    }

    assertThat(markers).containsExactly("m-2", "m-3", "m-2", "m-3", "m-2");
  }

  @Test
  void aMalformedPageIsTruncatedJson() {
    simulator.user("u1").malformedAtPage(2);

    HttpResponse<String> broken = get("/users/u1/posts?after=m-2", "t");

    assertThat(page("u1", "posts", 10, null).get("items")).hasSize(10);
    assertThat(broken.statusCode()).isEqualTo(200);
    assertThatThrownBy(() -> JSON.readTree(broken.body()))
        .isInstanceOf(JsonProcessingException.class);
  }

  @Test
  void hugePagesCarryAPayloadOfTheGivenSize() {
    simulator.user("u1").hugePages(10_000);

    HttpResponse<String> response = get("/users/u1/posts?limit=20", "t");

    assertThat(response.body().length()).isGreaterThan(200_000);
    assertThat(parse(response.body()).get("items").get(19).get("payload").asText()).hasSize(10_000);
  }

  @Test
  void theAlternativeShapeUsesDataAndPaging() {
    simulator.user("u1").pages(2).alternativeShape();

    JsonNode first = page("u1", "posts", 10, null);
    JsonNode last = page("u1", "posts", 10, first.at("/paging/next").asText());

    assertThat(first.has("items")).isFalse();
    assertThat(first.get("data")).hasSize(10);
    assertThat(first.at("/paging/next").asText()).isEqualTo("m-2");
    assertThat(first.at("/paging/more").asBoolean()).isTrue();
    assertThat(last.at("/paging/more").asBoolean()).isFalse();
    assertThat(last.at("/paging/next").isMissingNode()).isTrue();
  }

  @Test
  void numericMarkersAreJsonNumbers() {
    simulator.user("u1").pages(3).numericMarkers();

    JsonNode first = page("u1", "posts", 10, null);
    JsonNode second = page("u1", "posts", 10, "2");

    assertThat(first.get("nextMarker").isInt()).isTrue();
    assertThat(first.get("nextMarker").asInt()).isEqualTo(2);
    assertThat(second.get("nextMarker").asInt()).isEqualTo(3);
  }

  @Test
  void unknownMarkersPathsAndBadLimitsAreClientErrors() {
    assertThat(get("/users/u1/posts?after=m-9", "t").statusCode()).isEqualTo(400);
    assertThat(get("/users/u1/posts?after=nonsense", "t").statusCode()).isEqualTo(400);
    assertThat(get("/users/u1/posts?limit=0", "t").statusCode()).isEqualTo(400);
    assertThat(get("/users/u1", "t").statusCode()).isEqualTo(404);
  }

  @Test
  void resetForgetsScenariosAndCounters() {
    simulator.user("u1").unauthorized();
    get("/users/u1/posts", "t");

    simulator.reset();

    assertThat(simulator.requests("u1")).isZero();
    assertThat(simulator.totalRequests()).isZero();
    assertThat(get("/users/u1/posts", "t").statusCode()).isEqualTo(200);
  }

  @Test
  void servesManyConcurrentRequestsDespiteLatency() {
    simulator.latency(Duration.ofMillis(50));
    long started = System.nanoTime();

    List<CompletableFuture<HttpResponse<String>>> responses =
        IntStream.range(0, 64)
            .mapToObj(
                i ->
                    HTTP.sendAsync(
                        request(simulator.baseUrl(), "/users/u" + i + "/posts", "t"),
                        HttpResponse.BodyHandlers.ofString()))
            .toList();
    responses.forEach(response -> assertThat(response.join().statusCode()).isEqualTo(200));

    Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
    assertThat(elapsed).isBetween(Duration.ofMillis(50), Duration.ofMillis(1500));
    assertThat(simulator.totalRequests()).isEqualTo(64);
  }

  @Test
  void startsFromCommandLineOptions() {
    try (PlatformSimulator fromArgs =
        PlatformSimulator.fromArgs("--port", "0", "--latency", "5ms", "--pages", "2")) {
      assertThat(fromArgs.defaultPages()).isEqualTo(2);
      assertThat(fromArgs.latency()).isEqualTo(Duration.ofMillis(5));
      assertThat(send(fromArgs.baseUrl(), "/users/u1/posts?after=m-2", "t").statusCode())
          .isEqualTo(200);
    }
    assertThat(PlatformSimulator.duration("2s")).isEqualTo(Duration.ofSeconds(2));
    assertThat(PlatformSimulator.duration("PT0.05S")).isEqualTo(Duration.ofMillis(50));
    assertThatThrownBy(() -> PlatformSimulator.fromArgs("--colour", "blue"))
        .hasMessageContaining("unknown option --colour");
  }

  @Test
  void faultsAreSetFromTheCommandLineAsUserEqualsFault() {
    try (PlatformSimulator fromArgs =
        PlatformSimulator.fromArgs(
            "--port",
            "0",
            "--fault",
            "u1=unauthorized",
            "--fault",
            "u2=server-errors:2+pages:1",
            "--fault",
            "u3=rate-limited:1:7",
            "--fault",
            "u5=body-errors:1:400:4")) {
      URI base = fromArgs.baseUrl();
      assertThat(send(base, "/users/u1/posts", "t").statusCode()).isEqualTo(401);
      assertThat(send(base, "/users/u2/posts", "t").statusCode()).isEqualTo(500);
      assertThat(send(base, "/users/u2/posts", "t").statusCode()).isEqualTo(500);
      HttpResponse<String> served = send(base, "/users/u2/posts", "t");
      assertThat(served.statusCode()).isEqualTo(200);
      assertThat(parse(served.body()).get("hasMore").asBoolean()).isFalse(); // one page
      HttpResponse<String> limited = send(base, "/users/u3/posts", "t");
      assertThat(limited.statusCode()).isEqualTo(429);
      assertThat(limited.headers().firstValue("Retry-After")).contains("7");
      assertThat(send(base, "/users/u4/posts", "t").statusCode()).isEqualTo(200);
      assertThat(send(base, "/users/u5/posts", "t").statusCode()).isEqualTo(400);
      assertThat(send(base, "/users/u5/posts", "t").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void everyFaultHasATextualForm() {
    simulator.faults(
        List.of(
            "u1=forbidden",
            "u2=server-errors",
            "u3=repeat-marker:2",
            "u4=cycle:3",
            "u5=malformed:1",
            "u6=huge:100"));
    assertThat(get("/users/u1/posts", "t").statusCode()).isEqualTo(403);
    assertThat(statuses("u2", 2)).containsExactly(500, 500);
    assertThat(page("u3", "posts", 10, "m-2").get("nextMarker").asText()).isEqualTo("m-2");
    assertThat(page("u4", "posts", 10, "m-3").get("nextMarker").asText()).isEqualTo("m-2");
    assertThat(get("/users/u5/posts", "t").body()).doesNotEndWith("}");
    assertThat(page("u6", "posts", 10, null).at("/items/0/payload").asText()).hasSize(100);
  }

  @Test
  void anUnknownOrIncompleteFaultIsRefusedWithWhatIsKnown() {
    for (String entry :
        List.of("u1=sleepy", "u1=rate-limited:3", "u1=pages:many", "u1=unauthorized:2", "u1")) {
      assertThatThrownBy(() -> simulator.faults(List.of(entry)))
          .as(entry)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(entry.contains("=") ? "known: unauthorized" : "user=fault");
    }
    assertThatThrownBy(() -> PlatformSimulator.fromArgs("--port", "0", "--fault", "u1=sleepy"))
        .hasMessageContaining("fault 'sleepy'");
  }

  @Test
  void bodyErrorsBudgetsAndUsageHaveATextualForm() {
    simulator.faults(
        List.of(
            "u1=body-errors:2:400:190",
            "u2=pages:3+body-errors-at:2:1:403:613",
            "u3=request-budget:1:60",
            "u4=app-usage:40"));

    HttpResponse<String> invalid = get("/users/u1/posts", "t");
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(parse(invalid.body()).at("/error/code").asInt()).isEqualTo(190);
    assertThat(statuses("u1", 2)).containsExactly(400, 200);

    assertThat(page("u2", "posts", 10, null).get("nextMarker").asText()).isEqualTo("m-2");
    HttpResponse<String> throttled = get("/users/u2/posts?limit=10&after=m-2", "t");
    assertThat(throttled.statusCode()).isEqualTo(403);
    assertThat(parse(throttled.body()).at("/error/code").asInt()).isEqualTo(613);
    assertThat(get("/users/u2/posts?limit=10&after=m-2", "t").statusCode()).isEqualTo(200);

    HttpResponse<String> last = get("/users/u3/posts", "t");
    assertThat(last.statusCode()).isEqualTo(200);
    assertThat(last.headers().firstValue("X-RateLimit-Remaining")).contains("0");
    long reset = Long.parseLong(last.headers().firstValue("X-RateLimit-Reset").orElseThrow());
    assertThat(reset - Instant.now().getEpochSecond()).isBetween(55L, 61L);
    HttpResponse<String> over = get("/users/u3/posts", "t");
    assertThat(over.statusCode()).isEqualTo(403);
    assertThat(over.headers().firstValue("X-RateLimit-Remaining")).contains("0");

    assertThat(
            IntStream.range(0, 3)
                .mapToObj(i -> get("/users/u4/posts", "t").headers().firstValue("x-app-usage"))
                .map(usage -> parse(usage.orElseThrow()).get("call_count").asInt()))
        .containsExactly(40, 80, 100);
  }

  @Test
  void malformedBodyErrorBudgetAndUsageFaultsAreRefusedWithWhatIsKnown() {
    for (String fault :
        List.of(
            "body-errors:1:400",
            "body-errors:1:400:190:2",
            "body-errors:x:400:190",
            "body-errors:1:99:190",
            "body-errors-at:2:1:403",
            "body-errors-at:0:1:403:4",
            "request-budget:5",
            "request-budget:0:1",
            "request-budget:5:0",
            "app-usage",
            "app-usage:0",
            "app-usage:10:2")) {
      assertThatThrownBy(() -> simulator.faults(List.of("u1=" + fault)))
          .as(fault)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("fault '" + fault + "'")
          .hasMessageContaining("body-errors:N:STATUS:CODE")
          .hasMessageContaining("body-errors-at:PAGE:N:STATUS:CODE")
          .hasMessageContaining("request-budget:N:SECONDS")
          .hasMessageContaining("app-usage:PERCENT");
    }
    assertThatThrownBy(
            () -> PlatformSimulator.fromArgs("--port", "0", "--fault", "u1=request-budget:5"))
        .hasMessageContaining("fault 'request-budget:5'");
  }

  @Test
  void aFaultWithMoreValuesThanItTakesIsRefused() {
    for (String fault :
        List.of(
            "pages:3:4",
            "items:30:1",
            "repeat-marker:2:2",
            "cycle:2:1",
            "malformed:2:x",
            "huge:1000:2",
            "server-errors:2:1",
            "unauthorized:1",
            "flaky:1:1")) {
      assertThatThrownBy(() -> simulator.faults(List.of("u1=" + fault)))
          .as(fault)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("fault '" + fault + "'")
          .hasMessageContaining("value(s) after ':'");
    }
    simulator.faults(
        List.of("u1=pages:3", "u2=server-errors", "u3=server-errors:2", "u4=items:30"));
  }

  @Test
  void recentRequestsKeepWhenEachArrived() {
    Instant before = Instant.now();
    get("/users/u1/posts", "t");
    get("/users/u1/posts?limit=10&after=m-2", "t");

    List<ReceivedRequest> received = simulator.user("u1").recentRequests();

    assertThat(received).hasSize(2);
    assertThat(received.get(1).query()).containsEntry("after", "m-2");
    assertThat(received.get(0).receivedAt()).isAfterOrEqualTo(before);
    assertThat(received.get(1).receivedAt()).isAfterOrEqualTo(received.get(0).receivedAt());
  }

  private List<JsonNode> walk(String userId, String stream, int limit) {
    List<JsonNode> pages = new ArrayList<>();
    String marker = null;
    do {
      JsonNode page = page(userId, stream, limit, marker);
      pages.add(page);
      marker = page.path("nextMarker").asText(null);
    } while (pages.get(pages.size() - 1).get("hasMore").asBoolean() && pages.size() < 20);
    return pages;
  }

  private static List<String> ids(List<JsonNode> pages) {
    return pages.stream()
        .flatMap(page -> StreamSupport.stream(page.get("items").spliterator(), false))
        .map(item -> item.get("id").asText())
        .toList();
  }

  private List<Integer> statuses(String userId, int requests) {
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < requests; i++) {
      statuses.add(get("/users/" + userId + "/posts", "t").statusCode());
    }
    return statuses;
  }

  private JsonNode page(String userId, String stream, int limit, String marker) {
    String after = marker == null ? "" : "&after=" + marker;
    HttpResponse<String> response =
        get("/users/" + userId + "/" + stream + "?limit=" + limit + after, "t");
    assertThat(response.statusCode()).isEqualTo(200);
    return parse(response.body());
  }

  private static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw new AssertionError("not JSON: " + body, e);
    }
  }

  private HttpResponse<String> get(String pathAndQuery, String bearer) {
    return send(simulator.baseUrl(), pathAndQuery, bearer);
  }

  private static HttpResponse<String> send(URI base, String pathAndQuery, String bearer) {
    try {
      return HTTP.send(request(base, pathAndQuery, bearer), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static HttpRequest request(URI base, String pathAndQuery, String bearer) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(base + pathAndQuery)).timeout(Duration.ofSeconds(10));
    if (bearer != null) {
      builder.header("Authorization", "Bearer " + bearer);
    }
    return builder.build();
  }
}
