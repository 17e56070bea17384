package io.quarry.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.QuarryApplication;
import io.quarry.flow.FlowEndpoints;
import io.quarry.platform.sim.PlatformSimulator;
import io.quarry.support.Csrf;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.camel.CamelContext;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.mock.env.MockEnvironment;

/**
 * A token key rotation as an operator does it, across three lives of Quarry on one schema: tokens
 * stored under key A (through the API, and one in the format before the key ring), then a restart
 * with key B current and A previous that mines every user and re-encrypts through the API (as the
 * admin with a CSRF token, then as an admin API client), then a restart with B alone that still
 * mines every user. A user whose token is under a key Quarry never had is flagged for
 * re-authorisation once, and its chains stop without a retry.
 */
@ExtendWith(OutputCaptureExtension.class)
class TokenKeyRotationIT {

  static final String ADMIN = "test-admin-password";
  static final String KEY_A = key("rotation-key-a-32-bytes-for-it!!");
  static final String KEY_B = key("rotation-key-b-32-bytes-for-it!!");
  static final String KEY_UNKNOWN = key("rotation-key-x-32-bytes-for-it!!");
  static final List<String> STREAMS = List.of("posts", "ads");
  static final String API_TOKEN = "rotation-script-bearer-token-for-the-it";

  private final String name = IsolatedEnvironment.newName();
  private final MockEnvironment environment =
      new MockEnvironment()
          .withProperty("quarry.environment", name)
          .withProperty("quarry.database.schema", name);
  private final PlatformSimulator platform = PlatformSimulator.start(0).defaultPages(2);
  private final ObjectMapper json = new ObjectMapper();
  private ConfigurableApplicationContext life;

  @AfterEach
  void removeEverything() throws Exception {
    if (life != null) {
      life.close();
    }
    platform.close();
    Services.from(environment).dropEnvironment(environment);
  }

  @Test
  void aRotatedKeyKeepsEveryUserMinedAndAnUnknownKeyFlagsItsUserOnce(CapturedOutput output)
      throws Exception {
    List<String> users = List.of("registered-1", "registered-2", "before-the-ring");
    users.forEach(user -> platform.expectedToken(user, "token-of-" + user));

    // First life: key A alone.
    life = start(KEY_A);
    assertThat(register("registered-1").statusCode()).isEqualTo(201);
    assertThat(register("registered-2").statusCode()).isEqualTo(201);
    jdbc()
        .sql("insert into app_user (external_id, access_token) values (:user, :token)")
        .param("user", "before-the-ring")
        .param("token", TokenCipherTest.legacy(KEY_A, "token-of-before-the-ring"))
        .update();
    life.close();

    // Second life: B encrypts, A still decrypts.
    life =
        start(
            KEY_B,
            "--quarry.security.previous-token-keys=" + KEY_A,
            "--quarry.security.api-clients=rotation-script:admin:" + sha256(API_TOKEN));
    platform.expectedToken("registered-3", "token-of-registered-3");
    assertThat(register("registered-3").statusCode()).as("under B at once").isEqualTo(201);
    long unknown = insertUser("under-an-unknown-key", new TokenCipher(KEY_UNKNOWN).encrypt("t"));
    List<UUID> runs = tickBothStreamsAtOnce();

    awaitChainsEnded(runs, 10);
    for (String user : List.of("registered-1", "registered-2", "before-the-ring", "registered-3")) {
      assertThat(stopReasons(id(user)))
          .as("chains of %s, mined with its token", user)
          .containsExactly("end_of_data", "end_of_data");
    }
    assertThat(stopReasons(unknown)).containsExactly("token_undecryptable", "token_undecryptable");
    assertThat(needsReauthorization(unknown)).isTrue();
    assertThat(platform.requests("under-an-unknown-key")).isZero();
    assertThat(count("select count(*) from dead_letter")).as("nothing retried or parked").isZero();
    assertThat(counter("quarry.mining.reauthorization.needed")).as("flagged once").isEqualTo(1);
    assertThat(
            output
                .getAll()
                .lines()
                .filter(l -> l.contains("WARN") && l.contains("token of user " + unknown + " ")))
        .as("one warning for the user, from whichever stream met it first")
        .hasSize(1);

    // Re-encryption: refused without the admin role or without the CSRF token.
    String reEncrypt = "/api/admin/token-keys/re-encrypt";
    assertThat(Csrf.post(port(), reEncrypt, "viewer", "test-viewer-password").statusCode())
        .isEqualTo(403);
    assertThat(Csrf.postWithoutToken(port(), reEncrypt, "admin", ADMIN).statusCode())
        .isEqualTo(403);
    HttpResponse<String> done = Csrf.post(port(), reEncrypt, "admin", ADMIN);
    assertThat(done.statusCode()).isEqualTo(200);
    assertThat(done.body()).doesNotContain("token-of-").doesNotContain(KEY_A).doesNotContain(KEY_B);
    JsonNode counts = json.readTree(done.body());
    String idOfB = new TokenCipher(KEY_B).currentKeyId();
    assertThat(counts.path("currentKeyId").asText()).isEqualTo(idOfB);
    assertThat(counts.path("reEncrypted").asLong()).isEqualTo(3);
    assertThat(counts.path("alreadyCurrent").asLong()).isEqualTo(1);
    assertThat(counts.path("undecryptable").asLong()).isEqualTo(1);
    assertThat(counts.path("changedMeanwhile").asLong()).isZero();
    assertThat(counts.path("undecryptableUserIds").toString()).isEqualTo("[" + unknown + "]");
    assertThat(
            count(
                "select count(*) from app_user where substring(access_token from 1 for 5)"
                    + " <> decode('01"
                    + idOfB
                    + "', 'hex')"))
        .as("tokens not under B")
        .isEqualTo(1);
    assertThat(output.getAll())
        .contains("Token re-encryption by admin: 3 re-encrypted to key " + idOfB);
    // Again, as a script would: an admin API client with its bearer token, no CSRF token.
    HttpResponse<String> repeated = postAsApiClient(reEncrypt);
    assertThat(repeated.statusCode()).isEqualTo(200);
    JsonNode again = json.readTree(repeated.body());
    assertThat(again.path("reEncrypted").asLong()).isZero();
    assertThat(again.path("alreadyCurrent").asLong()).isEqualTo(4);
    assertThat(output.getAll())
        .contains("Token re-encryption by api:rotation-script: 0 re-encrypted");
    life.close();

    // Third life: A dropped.
    life = start(KEY_B);
    UUID run = tick("posts");
    awaitChainsEnded(List.of(run), 4);
    for (String user : List.of("registered-1", "registered-2", "before-the-ring", "registered-3")) {
      assertThat(
              jdbc()
                  .sql("select status from mining_state where stream = 'posts' and user_id = :u")
                  .param("u", id(user))
                  .query(String.class)
                  .single())
          .as("%s mined under B alone", user)
          .isEqualTo("completed");
    }
    assertThat(count("select count(*) from mining_state where run_id = '" + run + "'"))
        .as("the flagged user is not claimed")
        .isEqualTo(4);

    // The flagged user authorises again: its new token is under B and it is mined.
    platform.expectedToken("under-an-unknown-key", "token-of-under-an-unknown-key");
    assertThat(register("under-an-unknown-key").statusCode()).isEqualTo(201);
    UUID after = tick("posts");
    awaitChainsEnded(List.of(after), 5);
    assertThat(stopReasons(unknown)).contains("end_of_data");
    assertThat(count("select count(*) from dead_letter")).isZero();
  }

  /** A life of Quarry on this test's environment and schema with the given current key. */
  private ConfigurableApplicationContext start(String tokenKey, String... more) {
    return new SpringApplicationBuilder(QuarryApplication.class)
        .profiles("test")
        .run(
            Stream.concat(
                    Stream.of(
                        "--server.port=0",
                        "--quarry.environment=" + name,
                        "--quarry.database.schema=" + name,
                        "--quarry.platform.base-url=" + platform.baseUrl(),
                        "--quarry.mining.dead-letter-retries=0",
                        "--quarry.security.token-key=" + tokenKey),
                    Stream.of(more))
                .toArray(String[]::new));
  }

  /**
   * Ticks posts and ads while their miners wait, so that both streams' chains of every user are
   * claimed before any of them begins: the unknown key is then met by two chains.
   */
  private List<UUID> tickBothStreamsAtOnce() throws Exception {
    CamelContext camel = life.getBean(CamelContext.class);
    List<UUID> runs = new ArrayList<>();
    for (String stream : STREAMS) {
      camel.getRouteController().stopRoute(stream + "-miner");
    }
    for (String stream : STREAMS) {
      runs.add(tick(stream));
    }
    for (String stream : STREAMS) {
      camel.getRouteController().startRoute(stream + "-miner");
    }
    return runs;
  }

  private UUID tick(String stream) {
    life.getBean(ProducerTemplate.class).sendBody(FlowEndpoints.schedulerWorker(stream), null);
    return jdbc()
        .sql("select run_id from scheduler_run where stream = :s order by started_at desc limit 1")
        .param("s", stream)
        .query(UUID.class)
        .single();
  }

  private void awaitChainsEnded(List<UUID> runs, long chains) {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                jdbc()
                    .sql(
                        "select count(*) from mining_state where run_id = any(:runs)"
                            + " and status in ('completed', 'stopped')")
                    .param("runs", runs.toArray(UUID[]::new))
                    .query(Long.class)
                    .single(),
            ended -> ended == chains);
  }

  private HttpResponse<String> register(String user) {
    return Csrf.post(
        port(),
        "/api/users",
        "admin",
        ADMIN,
        "{\"externalId\":\"" + user + "\",\"accessToken\":\"token-of-" + user + "\"}");
  }

  private HttpResponse<String> postAsApiClient(String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + path))
                .header("Authorization", "Bearer " + API_TOKEN)
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  private static String sha256(String text) throws Exception {
    return HexFormat.of()
        .formatHex(
            MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
  }

  private long insertUser(String user, byte[] token) {
    return jdbc()
        .sql("insert into app_user (external_id, access_token) values (:u, :t) returning id")
        .param("u", user)
        .param("t", token)
        .query(Long.class)
        .single();
  }

  private long id(String user) {
    return jdbc()
        .sql("select id from app_user where external_id = :u")
        .param("u", user)
        .query(Long.class)
        .single();
  }

  private List<String> stopReasons(long user) {
    return jdbc()
        .sql("select stop_reason from mining_state where user_id = :u order by stream")
        .param("u", user)
        .query(String.class)
        .list();
  }

  private boolean needsReauthorization(long user) {
    return jdbc()
        .sql("select needs_reauthorization from app_user where id = :u")
        .param("u", user)
        .query(Boolean.class)
        .single();
  }

  private long count(String sql) {
    return jdbc().sql(sql).query(Long.class).single();
  }

  private double counter(String meter) {
    return life.getBean(MeterRegistry.class).find(meter).counters().stream()
        .mapToDouble(c -> c.count())
        .sum();
  }

  private JdbcClient jdbc() {
    return life.getBean(JdbcClient.class);
  }

  private int port() {
    return life.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
  }

  private static String key(String thirtyTwoCharacters) {
    return Base64.getEncoder()
        .encodeToString(thirtyTwoCharacters.getBytes(StandardCharsets.US_ASCII));
  }
}
