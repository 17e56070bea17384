package io.quarry.platform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.platform.sim.PlatformSimulator;
import io.quarry.platform.sim.ReceivedRequest;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PlatformClientTest {

  private static final String PATH = "/users/{userId}/posts";
  private static final String TOKEN = "EAAB-secret-token";
  private static final ObjectMapper JSON = new ObjectMapper();

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
  void resetSimulator() {
    simulator.reset();
    client = new PlatformClient(PlatformClient.Settings.defaults(simulator.baseUrl()), JSON);
  }

  @Test
  void sendsTheTokenAsBearerHeaderAndWalksAllPages() {
    simulator.expectedToken("u1", TOKEN).user("u1").pages(3);

    List<Page> pages = walk(client, PATH);

    assertThat(pages).hasSize(3);
    assertThat(pages.get(0).items()).hasSize(20);
    assertThat(pages.get(0).items().get(0).get("id").asText()).isEqualTo("posts-u1-1-0");
    assertThat(pages.get(0).nextMarker()).isEqualTo("m-2");
    assertThat(pages.get(0).bytes()).isGreaterThan(1000);
    assertThat(pages.get(2).hasMore()).isFalse();
    assertThat(pages.get(2).nextMarker()).isNull();
    ReceivedRequest last = simulator.user("u1").lastRequest();
    assertThat(last.authorization()).isEqualTo("Bearer " + TOKEN);
    assertThat(last.query()).containsEntry("limit", "100").containsEntry("after", "m-3");
    assertThat(last.query()).doesNotContainKey("access_token");
  }

  @Test
  void sendsTheTokenAsQueryParameterWhenConfigured() {
    simulator.expectedToken("u1", TOKEN).user("u1").pages(1);
    PlatformClient queryClient =
        new PlatformClient(
            PlatformClient.Settings.defaults(simulator.baseUrl())
                .withToken(TokenPlacement.QUERY, "access_token"),
            JSON);

    Page page = queryClient.fetch(PATH, "u1", TOKEN, 5, null);

    assertThat(page.items()).hasSize(5);
    ReceivedRequest last = simulator.user("u1").lastRequest();
    assertThat(last.authorization()).isNull();
    assertThat(last.query()).containsEntry("access_token", TOKEN).doesNotContainKey("after");
  }

  @Test
  void encodesTheUserIdIntoThePath() {
    Page page = client.fetch(PATH, "a b/ü+1", TOKEN, 2, null);

    assertThat(page.items().get(0).get("userId").asText()).isEqualTo("a b/ü+1");
    assertThat(simulator.requests("a b/ü+1")).isEqualTo(1);
  }

  @Test
  void readsOtherShapesThroughConfiguredJsonPaths() {
    simulator.user("u1").pages(2).alternativeShape();
    PlatformClient custom =
        new PlatformClient(
            PlatformClient.Settings.defaults(simulator.baseUrl())
                .withPaths("/data", "/paging/next", "/paging/more", "id"),
            JSON);

    List<Page> pages = walk(custom, PATH);

    assertThat(pages).hasSize(2);
    assertThat(pages.get(0).nextMarker()).isEqualTo("m-2");
    assertThat(pages.get(0).hasMore()).isTrue();
    assertThat(pages.get(1).items()).hasSize(20);
    assertThat(pages.get(1).hasMore()).isFalse();
    assertMalformed(() -> client.fetch(PATH, "u1", TOKEN, 10, null), "no items array at '/items'");
  }

  @Test
  void returnsANumericMarkerAsItsText() {
    simulator.user("u1").pages(3).numericMarkers();

    Page first = client.fetch(PATH, "u1", TOKEN, 10, null);
    Page second = client.fetch(PATH, "u1", TOKEN, 10, first.nextMarker());

    assertThat(first.nextMarker()).isEqualTo("2");
    assertThat(second.nextMarker()).isEqualTo("3");
    assertThat(second.items().get(0).get("id").asText()).isEqualTo("posts-u1-2-0");
  }

  @Test
  void rateLimitingCarriesRetryAfterAndIsNeitherTransientNorAnError() {
    simulator.user("u1").rateLimited(1, Duration.ofSeconds(7));

    RateLimitedException limited = failure(RateLimitedException.class);

    assertThat(limited.retryAfter()).isEqualTo(Duration.ofSeconds(7));
    assertThat(limited.transientFailure()).isFalse();
    assertThat(simulator.requests("u1"))
        .as("the client does not wait and retry on its own")
        .isOne();
    assertThat(client.fetch(PATH, "u1", TOKEN, 10, null).items()).hasSize(10);
  }

  @Test
  void readsRetryAfterAsSecondsOrHttpDateAndDefaultsToOneSecond() {
    Instant now = Instant.parse("2025-03-01T12:00:00Z");

    assertThat(RetryAfter.parse("120", now)).isEqualTo(Duration.ofSeconds(120));
    assertThat(RetryAfter.parse("Sat, 01 Mar 2025 12:00:30 GMT", now))
        .isEqualTo(Duration.ofSeconds(30));
    assertThat(RetryAfter.parse("Sat, 01 Mar 2025 11:00:00 GMT", now)).isEqualTo(Duration.ZERO);
    assertThat(RetryAfter.parse(null, now)).isEqualTo(Duration.ofSeconds(1));
    assertThat(RetryAfter.parse("soon", now)).isEqualTo(Duration.ofSeconds(1));
    assertThat(RetryAfter.parse("-5", now)).isEqualTo(Duration.ofSeconds(1));
    assertThat(RetryAfter.parse("99999999999999999999", now)).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void aRefusedTokenIsUnauthorized401() {
    simulator.expectedToken("u1", "the-right-token");

    UnauthorizedException refused = failure(UnauthorizedException.class);

    assertThat(refused.status()).isEqualTo(401);
    assertThat(refused.transientFailure()).isFalse();
  }

  @Test
  void forbiddenIsUnauthorized403() {
    simulator.user("u1").forbidden();

    assertThat(failure(UnauthorizedException.class).status()).isEqualTo(403);
  }

  @Test
  void serverErrorIsTransient() {
    simulator.user("u1").serverErrors(1);

    TransientPlatformException error = failure(TransientPlatformException.class);

    assertThat(error.transientFailure()).isTrue();
    assertThat(error).hasMessageContaining("500");
    assertThat(simulator.requests("u1")).as("retries are the route's business").isOne();
    assertThat(client.fetch(PATH, "u1", TOKEN, 10, null).items()).hasSize(10);
  }

  @Test
  void aSlowAnswerTimesOutAsTransient() {
    simulator.latency(Duration.ofMillis(1500));
    client =
        new PlatformClient(
            PlatformClient.Settings.defaults(simulator.baseUrl())
                .withToken(TokenPlacement.QUERY, "access_token")
                .withTimeouts(Duration.ofSeconds(1), Duration.ofMillis(200)),
            JSON);
    long started = System.nanoTime();

    TransientPlatformException timeout = failure(TransientPlatformException.class);

    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(1200));
    assertThat(timeout)
        .hasMessageContaining("timed out")
        .hasCauseInstanceOf(SocketTimeoutException.class);
    assertThat(Thread.interrupted()).as("a timeout is no interruption").isFalse();
  }

  @Test
  void manyRequestsShareAFewKeptAliveConnections() throws Exception {
    try (PlatformClient pooled =
        new PlatformClient(PlatformClient.Settings.defaults(simulator.baseUrl()), JSON, 4)) {
      java.util.concurrent.ExecutorService miners =
          java.util.concurrent.Executors.newFixedThreadPool(8);
      try {
        List<java.util.concurrent.Future<Page>> pages = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          pages.add(miners.submit(() -> pooled.fetch(PATH, "u1", TOKEN, 10, null)));
        }
        for (var page : pages) {
          assertThat(page.get().items()).hasSize(10);
        }
      } finally {
        miners.shutdownNow();
      }
    }
    assertThat(simulator.requests("u1")).isEqualTo(200);
    assertThat(simulator.connectionsAccepted())
        .as("connections opened for 200 requests by 8 threads with a pool of 4")
        .isBetween(1, 4);
  }

  @Test
  void aKeptAliveConnectionTheServerClosedIsReplacedWithoutAFailure() throws Exception {
    String body = "{\"items\":[{\"id\":\"a\"}],\"hasMore\":false}";
    try (ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      // answers each connection's first request as if it kept the connection, then closes it
      Thread answering =
          new Thread(
              () -> {
                try {
                  while (!server.isClosed()) {
                    try (java.net.Socket socket = server.accept()) {
                      var in =
                          new java.io.BufferedReader(
                              new java.io.InputStreamReader(
                                  socket.getInputStream(),
                                  java.nio.charset.StandardCharsets.US_ASCII));
                      for (String line = in.readLine();
                          line != null && !line.isEmpty();
                          line = in.readLine()) {
                        // the request's head; a GET has no body
                      }
                      socket
                          .getOutputStream()
                          .write(
                              ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                      + "Content-Length: "
                                      + body.length()
                                      + "\r\n\r\n"
                                      + body)
                                  .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                      socket.getOutputStream().flush();
                    }
                  }
                } catch (IOException closed) {
                  // the test is over
                }
              });
      answering.setDaemon(true);
      answering.start();
      try (PlatformClient keptAlive =
          new PlatformClient(
              PlatformClient.Settings.defaults(
                  URI.create("http://127.0.0.1:" + server.getLocalPort())),
              JSON)) {
        for (int i = 0; i < 5; i++) {
          assertThat(keptAlive.fetch(PATH, "u1", TOKEN, 10, null).items())
              .as("request " + i)
              .hasSize(1);
        }
      }
    }
  }

  @Test
  void aRefusedConnectionIsTransient() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    client =
        new PlatformClient(
            PlatformClient.Settings.defaults(URI.create("http://127.0.0.1:" + closedPort))
                .withToken(TokenPlacement.QUERY, "access_token"),
            JSON);

    assertThat(failure(TransientPlatformException.class)).hasMessageContaining("failed");
  }

  @Test
  void aBodyThatIsNotJsonIsMalformed() {
    simulator.user("u1").malformedAtPage(1);

    assertMalformed(() -> client.fetch(PATH, "u1", TOKEN, 10, null), "not valid JSON");
  }

  @Test
  void itemsThatAreNotAnArrayAreMalformed() {
    simulator.user("u1").alternativeShape();
    client = clientWithPaths("/paging", "/paging/next", "/paging/more", "id");

    assertMalformed(() -> client.fetch(PATH, "u1", TOKEN, 10, null), "no items array at '/paging'");
  }

  @Test
  void anItemWithoutItsIdIsMalformed() {
    client = clientWithPaths("/items", "/nextMarker", "/hasMore", "uuid");

    assertMalformed(() -> client.fetch(PATH, "u1", TOKEN, 10, null), "item 0 has no usable 'uuid'");
  }

  @Test
  void aHasMoreFlagThatIsNotBooleanIsMalformed() {
    client = clientWithPaths("/items", "/nextMarker", "/nextMarker", "id");

    assertMalformed(() -> client.fetch(PATH, "u1", TOKEN, 10, null), "is not a boolean");
  }

  @Test
  void anUnknownMarkerIsAnUnexpectedStatus() {
    UnexpectedStatusException error =
        failure(UnexpectedStatusException.class, () -> client.fetch(PATH, "u1", TOKEN, 10, "zz"));

    assertThat(error.status()).isEqualTo(400);
    assertThat(error.transientFailure()).isFalse();
  }

  @Test
  void rejectsSettingsWithAnInvalidJsonPointer() {
    assertThatThrownBy(() -> clientWithPaths("items", "/nextMarker", "/hasMore", "id"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aTokenThatCannotBeAHeaderIsRejectedWithoutQuotingIt() {
    assertThatThrownBy(() -> client.fetch(PATH, "u1", TOKEN + "\r\nX-Evil: 1", 10, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining(TOKEN)
        .hasNoCause();
    assertThat(simulator.requests("u1")).isZero();
  }

  private PlatformClient clientWithPaths(String items, String next, String more, String id) {
    return new PlatformClient(
        PlatformClient.Settings.defaults(simulator.baseUrl()).withPaths(items, next, more, id),
        JSON);
  }

  private List<Page> walk(PlatformClient platform, String path) {
    List<Page> pages = new ArrayList<>();
    String marker = null;
    do {
      Page page = platform.fetch(path, "u1", TOKEN, 100, marker);
      pages.add(page);
      marker = page.nextMarker();
    } while (pages.get(pages.size() - 1).hasMore() && pages.size() < 10);
    return pages;
  }

  private <T extends PlatformException> T failure(Class<T> type) {
    return failure(type, () -> client.fetch(PATH, "u1", TOKEN, 10, null));
  }

  /** Every failure is checked for the token: it must never leak into a message or a cause. */
  private static <T extends PlatformException> T failure(Class<T> type, ThrowingCallable call) {
    Throwable thrown = catchThrowable(call);
    assertThat(thrown).isInstanceOf(type);
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      assertThat(String.valueOf(t.getMessage())).doesNotContain(TOKEN);
      assertThat(t.toString()).doesNotContain(TOKEN);
    }
    return type.cast(thrown);
  }

  private static void assertMalformed(ThrowingCallable call, String reason) {
    MalformedResponseException malformed = failure(MalformedResponseException.class, call);
    assertThat(malformed).hasMessageContaining(reason);
    assertThat(malformed.transientFailure()).isFalse();
  }
}
