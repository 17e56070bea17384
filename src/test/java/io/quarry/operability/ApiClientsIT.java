package io.quarry.operability;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.support.QuarryIntegrationTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.TestPropertySource;

/**
 * Issue 14, item 6: a machine client has a credential of its own kind, a bearer token, which needs
 * no CSRF token, opens no session, reaches only the API and acts with its configured role under its
 * own name.
 */
@QuarryIntegrationTest
@ExtendWith(OutputCaptureExtension.class)
@TestPropertySource(
    properties =
        "quarry.security.api-clients="
            + "auth-service:admin:"
            + ApiClientsIT.ADMIN_TOKEN_SHA256
            + ",nightly-report:viewer:"
            + ApiClientsIT.VIEWER_TOKEN_SHA256)
class ApiClientsIT {

  static final String ADMIN_TOKEN = "q-admin-token-0123456789abcdef0123456789abcdef";
  static final String VIEWER_TOKEN = "q-viewer-token-0123456789abcdef0123456789abcdef";

  /** {@code printf %s "$TOKEN" | sha256sum}, as an operator would configure it. */
  static final String ADMIN_TOKEN_SHA256 =
      "460723c10c58d70b9ec73e68ee3ee408376e3d47ba2264d55b1f647fadccf385";

  static final String VIEWER_TOKEN_SHA256 =
      "d46ffb8189aa85ca7f043ffc57f6304d1fb96f0db2b16be7879ccec6a0bfac1e";

  @LocalServerPort int port;
  @Autowired JdbcClient jdbc;

  @Test
  void theConfiguredHashesAreThoseOfTheTokens() {
    assertThat(sha256(ADMIN_TOKEN)).isEqualTo(ADMIN_TOKEN_SHA256);
    assertThat(sha256(VIEWER_TOKEN)).isEqualTo(VIEWER_TOKEN_SHA256);
  }

  @Test
  void theAuthServiceRegistersAUserWithItsTokenAndNoCsrfToken() throws Exception {
    var response =
        send(
            "POST",
            "/api/users",
            ADMIN_TOKEN,
            """
            {"externalId":"api-client-user","accessToken":"platform-token"}""");

    assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
    assertThat(response.headers().allValues("Set-Cookie")).as("no session, no cookie").isEmpty();
    assertThat(
            jdbc.sql("select count(*) from app_user where external_id = 'api-client-user'")
                .query(Long.class)
                .single())
        .isOne();
  }

  @Test
  void anActionOfAnApiClientIsAuditedUnderItsOwnName() throws Exception {
    var paused = send("POST", "/api/jobs/ResendErrorEmailJob/pause", ADMIN_TOKEN, null);
    var resumed = send("POST", "/api/jobs/ResendErrorEmailJob/resume", ADMIN_TOKEN, null);

    assertThat(paused.statusCode()).as(paused.body()).isEqualTo(200);
    assertThat(resumed.statusCode()).as(resumed.body()).isEqualTo(200);
    assertThat(jdbc.sql("select actor from job_action order by id").query(String.class).list())
        .containsExactly("api:auth-service", "api:auth-service");
  }

  @Test
  void aViewerClientReadsButChangesNothing() throws Exception {
    var read = send("GET", "/api/jobs", VIEWER_TOKEN, null);
    var change = send("POST", "/api/jobs/ResendErrorEmailJob/trigger", VIEWER_TOKEN, null);

    assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
    assertThat(change.statusCode()).isEqualTo(403);
    assertThat(change.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(change.body()).contains("viewer role and may only read");
  }

  @Test
  void anApiClientReachesNothingButTheApi() throws Exception {
    for (String path :
        new String[] {"/dashboard/", "/actuator/jolokia/version", "/actuator/prometheus"}) {
      var response = send("GET", path, ADMIN_TOKEN, null);
      assertThat(response.statusCode()).as(path).isEqualTo(403);
      assertThat(response.body()).as(path).contains("API clients may only use /api");
    }
  }

  @Test
  void anUnknownTokenIsRefusedLoggedWithTheAddressAndNeverEchoed(CapturedOutput output)
      throws Exception {
    String guess = "guessed-token-that-no-client-has";
    var response = send("GET", "/api/jobs", guess, null);

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(response.headers().firstValue("WWW-Authenticate"))
        .hasValueSatisfying(
            value -> assertThat(value).startsWith("Bearer").contains("invalid_token"));
    assertThat(response.body()).contains("not one of an API client").doesNotContain(guess);
    assertThat(output.getAll()).contains("API token refused", "127.0.0.1").doesNotContain(guess);
  }

  private HttpResponse<String> send(String method, String path, String token, String json)
      throws Exception {
    var request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .method(
                method,
                json == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(json));
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String sha256(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
