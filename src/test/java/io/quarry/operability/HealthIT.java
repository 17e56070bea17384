package io.quarry.operability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.TcpProxy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** PostgreSQL is reached through a proxy the test cuts, so health must notice the outage. */
@QuarryIntegrationTest
class HealthIT {

  static final TcpProxy POSTGRES = startProxy();

  @DynamicPropertySource
  static void throughTheProxy(DynamicPropertyRegistry registry) {
    registry.add("quarry.database.port", POSTGRES::port);
  }

  @Autowired TestRestTemplate http;

  @Test
  void healthIsPublicButItsDetailsAreNot() {
    ResponseEntity<Map> anonymous = http.getForEntity("/actuator/health", Map.class);
    assertThat(anonymous.getStatusCode()).isEqualTo(HttpStatus.OK);
    assertThat(anonymous.getBody()).containsEntry("status", "UP").doesNotContainKey("components");

    assertThat(http.getForEntity("/actuator/health/liveness", Map.class).getStatusCode())
        .isEqualTo(HttpStatus.OK);
    assertThat(http.getForEntity("/actuator/health/readiness", Map.class).getStatusCode())
        .isEqualTo(HttpStatus.OK);

    @SuppressWarnings("unchecked")
    Map<String, Object> components =
        (Map<String, Object>) admin().getForObject("/actuator/health", Map.class).get("components");
    assertThat(components).containsKeys("db", "rabbit", "camelHealth");
    for (String contributor : new String[] {"db", "rabbit", "camelHealth"}) {
      assertThat(((Map<?, ?>) components.get(contributor)).get("status"))
          .as(contributor)
          .isEqualTo("UP");
    }
  }

  @Test
  void healthIsDownWhilePostgresIsUnreachableAndRecovers() {
    try {
      POSTGRES.cut();
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                ResponseEntity<Map> health = admin().getForEntity("/actuator/health", Map.class);
                assertThat(health.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
                assertThat(health.getBody()).containsEntry("status", "DOWN");
                Map<?, ?> db =
                    (Map<?, ?>) ((Map<?, ?>) health.getBody().get("components")).get("db");
                assertThat(db.get("status")).isEqualTo("DOWN");
              });
      assertThat(http.getForEntity("/actuator/health/readiness", Map.class).getStatusCode())
          .isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
    } finally {
      POSTGRES.restore();
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                http.getForEntity("/actuator/health", Map.class).getStatusCode() == HttpStatus.OK);
  }

  private TestRestTemplate admin() {
    return http.withBasicAuth("admin", "test-admin-password");
  }

  private static TcpProxy startProxy() {
    try {
      return new TcpProxy("127.0.0.1", 5432);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
