package io.quarry.operability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.support.Http;
import io.quarry.support.QuarryIntegrationTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.test.web.server.LocalServerPort;

@QuarryIntegrationTest
class SecurityIT {

  static final String ADMIN_PASSWORD = "test-admin-password";

  @LocalServerPort int port;
  Http http;

  @BeforeEach
  void setUp() {
    http = new Http(port);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/actuator/hawtio/",
        "/actuator/jolokia/version",
        "/actuator/prometheus",
        "/actuator/metrics",
        "/actuator/info"
      })
  void everythingButHealthNeedsCredentials(String path) {
    assertThat(http.get(path).statusCode()).isEqualTo(401);
    assertThat(http.get(path, "admin", "wrong-password").statusCode()).isEqualTo(401);
    assertThat(http.get(path, "admin", ADMIN_PASSWORD).statusCode()).isEqualTo(200);
  }

  @Test
  void theConsoleServesHawtioAndSeesCamelThroughJolokia() throws Exception {
    var console = http.get("/actuator/hawtio/", "admin", ADMIN_PASSWORD);
    assertThat(console.body()).containsIgnoringCase("hawtio");
    assertThat(console.headers().allValues("Content-Security-Policy"))
        .as("Hawtio's own policy, not Quarry's stricter one that would break the console")
        .singleElement()
        .satisfies(csp -> assertThat(csp).doesNotContain("script-src 'self'; style-src 'self';"));

    JsonNode search =
        new ObjectMapper()
            .readTree(
                http.get(
                        "/actuator/jolokia/search/org.apache.camel:type=context,*",
                        "admin",
                        ADMIN_PASSWORD)
                    .body());
    assertThat(search.get("value").toString()).contains("context=quarry");
  }

  @Test
  void prometheusExposesJvmPoolAndCamelMetrics() {
    assertThat(http.get("/actuator/prometheus", "admin", ADMIN_PASSWORD).body())
        .contains("jvm_memory_used_bytes")
        .contains("hikaricp_connections")
        .contains("camel_");
  }

  @Test
  void theViewerMayReadMetricsButNotUseTheConsole() {
    String viewer = "viewer";
    String password = "test-viewer-password";
    assertThat(http.get("/actuator/prometheus", viewer, password).statusCode()).isEqualTo(200);
    assertThat(http.get("/actuator/hawtio/", viewer, password).statusCode()).isEqualTo(403);
    assertThat(http.get("/actuator/jolokia/version", viewer, password).statusCode()).isEqualTo(403);
  }
}
