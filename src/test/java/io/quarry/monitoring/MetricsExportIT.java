package io.quarry.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarry.flow.FlowEndpoints;
import io.quarry.support.Csrf;
import io.quarry.support.Http;
import io.quarry.support.QuarryIntegrationTest;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;

/**
 * The names the alert rules and the Grafana dashboard use ({@link MetricNamesTest#KNOWN_METRICS})
 * are the names a running Quarry exports: after a job run and a scheduler tick, every one of them
 * is in {@code /actuator/prometheus}, so a renamed meter fails here and not in production.
 */
@QuarryIntegrationTest
@TestPropertySource(properties = "quarry.rabbitmq.management-poll-interval=500ms")
class MetricsExportIT {

  /**
   * Not exported by Quarry itself ({@code up} is Prometheus's own) or only once a page is mined
   * (MiningPipelineIT checks those meters by name).
   */
  static final Set<String> NOT_HERE =
      Set.of(
          "up",
          "quarry_mining_pages_total",
          "quarry_mining_items_total",
          "quarry_mining_chains_stopped_total");

  @LocalServerPort int port;
  @Autowired ProducerTemplate camel;

  @Test
  void everyMetricTheRulesAndTheDashboardUseIsExported() {
    assertThat(
            Csrf.post(port, "/api/jobs/CleanUpSentEmailJob/trigger", "admin", "test-admin-password")
                .statusCode())
        .isEqualTo(202);
    camel.sendBody(FlowEndpoints.schedulerWorker("posts"), null);

    Set<String> expected = new TreeSet<>(MetricNamesTest.KNOWN_METRICS);
    expected.removeAll(NOT_HERE);
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(() -> assertThat(exported()).containsAll(expected));
  }

  private Set<String> exported() {
    String scrape =
        new Http(port).get("/actuator/prometheus", "viewer", "test-viewer-password").body();
    return scrape
        .lines()
        .filter(line -> !line.isBlank() && !line.startsWith("#"))
        .map(line -> line.split("[{ ]", 2)[0])
        .collect(Collectors.toSet());
  }
}
