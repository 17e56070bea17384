package io.quarry.operability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.support.Csrf;
import io.quarry.support.Http;
import io.quarry.support.QuarryIntegrationTest;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Issue 14, item 1: Jolokia changes nothing from a link, runs no endpoint for a caller, answers no
 * other origin, proxies to no other JVM, and logs every exec and write with its user.
 */
@QuarryIntegrationTest
@ExtendWith(OutputCaptureExtension.class)
class JolokiaSecurityIT {

  static final String ADMIN = "admin";
  static final String ADMIN_PASSWORD = "test-admin-password";
  static final String ROUTE = "ad-clicks-scheduler-tick";
  static final String ROUTE_MBEAN =
      "org.apache.camel:context=quarry,type=routes,name=\"" + ROUTE + "\"";
  static final String CONTEXT_MBEAN =
      "org.apache.camel:context=quarry,type=context,name=\"quarry\"";

  /** The same names in a GET path: the quotes URL-encoded. */
  static final String ROUTE_PATH = ROUTE_MBEAN.replace("\"", "%22");

  static final ObjectMapper json = new ObjectMapper();

  @LocalServerPort int port;
  @Autowired CamelContext camel;
  Http http;

  @BeforeEach
  void setUp() {
    http = new Http(port);
  }

  @AfterEach
  void routeStarted() throws Exception {
    if (!camel.getRouteController().getRouteStatus(ROUTE).isStarted()) {
      camel.getRouteController().startRoute(ROUTE);
    }
  }

  @Test
  void aLinkCannotStopARoute(CapturedOutput output) throws Exception {
    var response =
        http.get("/actuator/jolokia/exec/" + ROUTE_PATH + "/stop()", ADMIN, ADMIN_PASSWORD);

    assertThat(response.statusCode()).as("Jolokia answers errors in the body").isEqualTo(200);
    JsonNode body = json.readTree(response.body());
    assertThat(body.path("status").asInt()).as(body.toString()).isEqualTo(403);
    assertThat(body.path("error").asText()).contains("stop() forbidden");
    assertThat(camel.getRouteController().getRouteStatus(ROUTE)).isEqualTo(ServiceStatus.Started);
    assertThat(output.getAll())
        .contains("Jolokia exec refused (not a POST) for admin from 127.0.0.1")
        .contains(ROUTE);
  }

  @Test
  void aLinkCannotWriteAnAttribute() throws Exception {
    var response =
        http.get("/actuator/jolokia/write/" + ROUTE_PATH + "/Tracing/true", ADMIN, ADMIN_PASSWORD);

    JsonNode body = json.readTree(response.body());
    assertThat(body.path("status").asInt()).isEqualTo(403);
    assertThat(camel.getRoute(ROUTE).isTracing()).isFalse();
  }

  @Test
  void noAttributeIsWritableEvenByPost() throws Exception {
    JsonNode body =
        post(
            """
            {"type":"write","mbean":%s,"attribute":"Tracing","value":true}"""
                .formatted(quoted(ROUTE_MBEAN)));

    assertThat(body.path("status").asInt()).isEqualTo(403);
    assertThat(camel.getRoute(ROUTE).isTracing()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "sendBody(java.lang.String,java.lang.Object)",
        "sendBody",
        "sendStringBody(java.lang.String,java.lang.String)",
        "requestBody(java.lang.String,java.lang.Object)"
      })
  void noCallerReachesAnEndpoint(String operation, @TempDir Path dir) throws Exception {
    String uri = dir.toUri().toString().replace("file:///", "file:/") + "?fileName=written.txt";
    JsonNode body =
        post(
            """
            {"type":"exec","mbean":%s,"operation":%s,"arguments":[%s,"written by Jolokia"]}"""
                .formatted(quoted(CONTEXT_MBEAN), quoted(operation), quoted(uri)));

    assertThat(body.path("status").asInt()).as(body.toString()).isEqualTo(403);
    try (var files = Files.list(dir)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void noCallerRunsSql() throws Exception {
    JsonNode body =
        post(
            """
            {"type":"exec","mbean":%s,"operation":"requestBody(java.lang.String,java.lang.Object)",
             "arguments":["sql:select current_user","x"]}"""
                .formatted(quoted(CONTEXT_MBEAN)));

    assertThat(body.path("status").asInt()).isEqualTo(403);
    assertThat(body.path("value").isMissingNode()).isTrue();
  }

  @Test
  void hawtiosRouteButtonsWorkByPostAndAreAudited(CapturedOutput output) throws Exception {
    // Hawtio sends a bulk request with the signature in the operation and the CSRF header.
    JsonNode stop =
        post(
            """
            [{"type":"exec","mbean":%s,"operation":"stop()"}]"""
                .formatted(quoted(ROUTE_MBEAN)));
    assertThat(stop.get(0).path("status").asInt()).as(stop.toString()).isEqualTo(200);
    assertThat(camel.getRouteController().getRouteStatus(ROUTE)).isEqualTo(ServiceStatus.Stopped);

    JsonNode start =
        post(
            """
            {"type":"exec","mbean":%s,"operation":"start()"}"""
                .formatted(quoted(ROUTE_MBEAN)));
    assertThat(start.path("status").asInt()).as(start.toString()).isEqualTo(200);
    assertThat(camel.getRouteController().getRouteStatus(ROUTE)).isEqualTo(ServiceStatus.Started);

    // Quotes in the MBean name come escaped when an earlier test class switched logging to JSON.
    assertThat(output.getAll())
        .contains("Jolokia exec by admin from 127.0.0.1: ")
        .containsPattern(ROUTE + "\\\\?\",type=routes stop\\(\\)")
        .containsPattern(ROUTE + "\\\\?\",type=routes start\\(\\)");
  }

  @Test
  void aPostWithoutTheCsrfTokenIsForbidden() {
    var response =
        Csrf.postWithoutToken(
            port, "/actuator/jolokia/exec/" + ROUTE_PATH + "/stop()", ADMIN, ADMIN_PASSWORD);

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(camel.getRouteController().getRouteStatus(ROUTE)).isEqualTo(ServiceStatus.Started);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/actuator/jolokia/version",
        "/actuator/jolokia/read/java.lang:type=Memory/HeapMemoryUsage",
        "/actuator/jolokia/list/org.apache.camel",
        "/actuator/jolokia/search/org.apache.camel:type=routes,*"
      })
  void theAdminReadsAndTheViewerDoesNot(String path) throws Exception {
    var admin = http.get(path, ADMIN, ADMIN_PASSWORD);
    assertThat(admin.statusCode()).isEqualTo(200);
    assertThat(json.readTree(admin.body()).path("status").asInt()).as(admin.body()).isEqualTo(200);

    assertThat(http.get(path, "viewer", "test-viewer-password").statusCode()).isEqualTo(403);
  }

  @Test
  void theAdminReadsARoutesState() throws Exception {
    JsonNode body =
        json.readTree(
            http.get("/actuator/jolokia/read/" + ROUTE_PATH + "/State", ADMIN, ADMIN_PASSWORD)
                .body());
    assertThat(body.path("value").asText()).isEqualTo("Started");
  }

  @Test
  void noOtherOriginIsAllowedToReadTheAnswers() throws Exception {
    var response =
        send(
            HttpRequest.newBuilder(uri("/actuator/jolokia/version"))
                .header("Authorization", Http.basic(ADMIN, ADMIN_PASSWORD))
                .header("Origin", "https://evil.example")
                .GET());

    assertThat(response.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    assertThat(response.headers().firstValue("Access-Control-Allow-Credentials")).isEmpty();
  }

  @Test
  void aRequestForAnotherJvmIsRefusedNotAnsweredFromThisOne() throws Exception {
    // Without jolokia-service-jsr160 no handler opens a JMX connection for a "target"; Jolokia
    // would answer from Quarry's own JVM as if it had, so the request is refused outright, alone
    // or inside a bulk request.
    String single =
        """
        {"type":"read","mbean":"java.lang:type=Runtime","attribute":"Name",
         "target":{"url":"service:jmx:rmi:///jndi/rmi://127.0.0.1:1/jmxrmi"}}""";
    for (String request : new String[] {single, "[{\"type\":\"version\"}," + single + "]"}) {
      var response = Csrf.post(port, "/actuator/jolokia", ADMIN, ADMIN_PASSWORD, request);

      assertThat(response.statusCode()).as(response.body()).isEqualTo(403);
      assertThat(response.body()).contains("proxy mode is off");
    }
  }

  @Test
  void aJsonpCallbackIsRefused() throws Exception {
    var response =
        send(
            HttpRequest.newBuilder(uri("/actuator/jolokia/version?callback=steal"))
                .header("Authorization", Http.basic(ADMIN, ADMIN_PASSWORD))
                .GET());

    assertThat(response.statusCode()).isEqualTo(403);
    assertThat(response.body()).doesNotContain("steal(").contains("JSONP");
  }

  @Test
  void anOrdinaryPostStillReachesJolokiaAfterTheBodyWasInspected() throws Exception {
    JsonNode body =
        post("{\"type\":\"read\",\"mbean\":\"java.lang:type=Runtime\",\"attribute\":\"Name\"}");

    assertThat(body.path("value").asText())
        .isEqualTo(ManagementFactory.getRuntimeMXBean().getName());
  }

  private JsonNode post(String request) throws IOException {
    var response = Csrf.post(port, "/actuator/jolokia", ADMIN, ADMIN_PASSWORD, request);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return json.readTree(response.body());
  }

  private static String quoted(String text) throws IOException {
    return json.writeValueAsString(text);
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
