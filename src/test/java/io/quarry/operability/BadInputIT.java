package io.quarry.operability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.support.Csrf;
import io.quarry.support.Http;
import io.quarry.support.QuarryIntegrationTest;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The probes of the security audit (issue 14 item 7) against a real Quarry: bad input answers 4xx
 * with an RFC 9457 problem body saying what was wrong, never 500, and never logs a stack trace.
 */
@QuarryIntegrationTest
@ExtendWith(OutputCaptureExtension.class)
class BadInputIT {

  static final String ADMIN = "test-admin-password";
  static final String VIEWER = "test-viewer-password";
  static final ObjectMapper JSON = new ObjectMapper();

  @LocalServerPort int port;
  @Autowired JdbcClient jdbc;
  Http http;

  @BeforeEach
  void setUp() {
    http = new Http(port);
  }

  @Test
  void aControlCharacterInAnExternalIdIsRefusedAndNothingIsStored() {
    assertProblem(
        postUser("{\"externalId\":\"nul\\u0000byte\",\"accessToken\":\"t\"}"),
        400,
        "externalId",
        "control character");
    assertProblem(
        postUser("{\"externalId\":\"line\\nbreak\",\"accessToken\":\"t\"}"), 400, "externalId");
    assertThat(users("%byte")).isZero();
  }

  @Test
  void aRegistrationThatIsNotJsonOrLacksFieldsSaysWhy() {
    assertProblem(postUser("{\"externalId\":"), 400, "JSON");
    assertProblem(postUser("{\"externalId\":[1],\"accessToken\":\"t\"}"), 400, "externalId");
    assertProblem(postUser("{\"accessToken\":\"t\"}"), 400, "externalId", "must not be blank");
  }

  @Test
  void aNulByteInTheHistoryNameFilterIsRefused() {
    assertProblem(history("name=posts%00-scheduler"), 400, "name", "control character");
    assertProblem(history("before=1~job%00"), 400, "before", "control character");
  }

  @Test
  void historyTimesOutsideWhatPostgresqlStoresAreRefused() {
    assertProblem(history("from=%2B1000000000-01-01T00:00:00Z"), 400, "from", "0001-01-01");
    assertProblem(history("to=-4714-01-01T00:00:00Z"), 400, "to", "9999-12-31");
    assertProblem(history("to=%2B294277-01-01T00:00:00Z"), 400, "to");
    assertProblem(history("before=-9223372036854775808~x"), 400, "before", "0001-01-01");
    assertProblem(history("before=99999999999999999999~x"), 400, "before");
    assertProblem(history("from=yesterday"), 400, "from", "ISO-8601");
    assertProblem(history("kind=cron"), 400, "kind must be job or stream");
  }

  @Test
  void aNullIdInABulkSelectionIsRefused() {
    for (String action : new String[] {"/api/dead-letters/replay", "/api/dead-letters/discard"}) {
      assertProblem(
          Csrf.post(port, action, "admin", ADMIN, "{\"ids\":[null]}"), 400, "ids[0]", "null");
      assertProblem(
          Csrf.post(port, action, "admin", ADMIN, "{\"ids\":[1,null]}"), 400, "ids[1]", "null");
      assertProblem(Csrf.post(port, action, "admin", ADMIN, "{\"ids\":[]}"), 400, "ids");
      assertProblem(Csrf.post(port, action, "admin", ADMIN, "{\"ids\":[\"x\"]}"), 400, "ids");
      assertProblem(Csrf.post(port, action, "admin", ADMIN, "null"), 400, "body");
    }
  }

  @Test
  void pagingValuesOutsideTheirRangeAreRefusedNotClamped() {
    String letters = "/api/dead-letters?";
    assertProblem(viewer(letters + "limit=0"), 400, "limit", "between 1 and 500");
    assertProblem(viewer(letters + "limit=100000"), 400, "limit", "between 1 and 500");
    assertProblem(viewer(letters + "offset=-1"), 400, "offset", "at least 0");
    assertProblem(viewer(letters + "offset=99999999999"), 400, "offset", "whole number");
    assertProblem(viewer(letters + "limit=ten"), 400, "limit", "whole number");
    assertThat(viewer(letters + "limit=500&offset=0").statusCode()).isEqualTo(200);
    assertProblem(history("limit=0"), 400, "limit", "between 1 and 200");
    assertProblem(history("limit=201"), 400, "limit", "between 1 and 200");
    assertThat(history("limit=200").statusCode()).isEqualTo(200);
  }

  @Test
  void theErrorPageAskedForDirectlyIsNotAServerError() {
    assertProblem(http.get("/error"), 404, "/error");
    assertProblem(http.get("/error", "viewer", VIEWER), 404, "/error");
  }

  @Test
  void aMalformedPathIsRefusedWithoutAStackTrace(CapturedOutput output) {
    int logged = output.getAll().length();
    assertProblem(http.get("/actuator//jolokia/version"), 400, "URL");
    assertProblem(http.get("/actuator//jolokia/version", "admin", ADMIN), 400, "URL");
    assertProblem(http.get("/api/dashboard/%2e%2e/summary", "viewer", VIEWER), 400, "URL");
    String log = output.getAll().substring(logged);
    assertThat(log).doesNotContain("\tat ").doesNotContain("Exception:");
  }

  @Test
  void aBodyOverTheLimitGets413AndNothingIsStored() {
    String padding = "x".repeat(10 * 1024 * 1024);
    String body = "{\"externalId\":\"big-body\",\"accessToken\":\"t\",\"pad\":\"" + padding + "\"}";
    assertProblem(postUser(body), 413, "1MB");
    assertProblem(
        Csrf.post(
            port,
            "/api/users",
            "admin",
            ADMIN,
            HttpRequest.BodyPublishers.ofInputStream(
                () ->
                    new ByteArrayInputStream(
                        body.substring(0, 2 * 1024 * 1024).getBytes(StandardCharsets.UTF_8)))),
        413,
        "1MB");
    assertThat(users("big-body")).isZero();
    assertThat(postUser("{\"externalId\":\"small-body\",\"accessToken\":\"t\"}").statusCode())
        .isEqualTo(201);
  }

  private HttpResponse<String> postUser(String json) {
    return Csrf.post(port, "/api/users", "admin", ADMIN, json);
  }

  private HttpResponse<String> history(String query) {
    return viewer("/api/dashboard/history?" + query);
  }

  private HttpResponse<String> viewer(String path) {
    return http.get(path, "viewer", VIEWER);
  }

  private long users(String externalIdLike) {
    return jdbc.sql("select count(*) from app_user where external_id like :id")
        .param("id", externalIdLike)
        .query(Long.class)
        .single();
  }

  private static void assertProblem(HttpResponse<String> response, int status, String... detail) {
    String what = response.request().method() + " " + response.request().uri();
    assertThat(response.statusCode()).as(what + ": " + response.body()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type"))
        .as(what)
        .hasValueSatisfying(type -> assertThat(type).startsWith("application/problem+json"));
    JsonNode problem;
    try {
      problem = JSON.readTree(response.body());
    } catch (Exception e) {
      throw new AssertionError(what + ": not JSON: " + response.body(), e);
    }
    assertThat(problem.path("status").asInt()).as(what).isEqualTo(status);
    assertThat(problem.path("detail").asText()).as(what).contains(detail);
  }
}
