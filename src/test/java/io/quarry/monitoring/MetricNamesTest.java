package io.quarry.monitoring;

import static io.quarry.monitoring.MonitoringFiles.ALERT_RULES;
import static io.quarry.monitoring.MonitoringFiles.ALERT_RULE_TESTS;
import static io.quarry.monitoring.MonitoringFiles.DASHBOARD;
import static io.quarry.monitoring.MonitoringFiles.list;
import static io.quarry.monitoring.MonitoringFiles.loadYaml;
import static io.quarry.monitoring.MonitoringFiles.map;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every metric the alert rules and the Grafana dashboard query is one Quarry, Camel or Spring Boot
 * really exports, under the name Prometheus stores it by: a misspelt name would give an empty panel
 * or an alert that can never fire, and neither promtool nor Grafana reports that.
 */
class MetricNamesTest {

  /**
   * Series names as Prometheus stores them (Micrometer's names with dots turned into underscores,
   * base units and the _total/_count/_sum/_max suffixes), taken from /actuator/prometheus.
   */
  static final Set<String> KNOWN_METRICS =
      Set.of(
          // Quarry: maintenance jobs and the outbox.
          "quarry_job_executions_total",
          "quarry_job_duration_seconds_count",
          "quarry_job_duration_seconds_sum",
          "quarry_job_duration_seconds_max",
          "quarry_outbox_pending",
          "quarry_outbox_oldest_pending_age_seconds",
          "quarry_events_duplicates_dropped_total",
          "quarry_job_failed_runs_last_hour",
          // Quarry: mail (EmailMetrics).
          "quarry_email_sent_total",
          "quarry_email_failed_total",
          "quarry_email_pending",
          "quarry_email_oldest_pending_age_seconds",
          // Quarry: the broker's queues (management API) and the pipeline (PostgreSQL).
          "quarry_queue_messages",
          "quarry_queue_messages_ready",
          "quarry_queue_consumers",
          "quarry_dead_letters_open",
          "quarry_stream_users_in_progress",
          // Quarry: mining and the stream schedulers.
          "quarry_mining_pages_total",
          "quarry_mining_items_total",
          "quarry_mining_chains_stopped_total",
          "quarry_scheduler_ticks_total",
          // Quarry: failed and refused logins (LoginThrottle).
          "quarry_login_failures_total",
          "quarry_login_throttled_total",
          // camel-micrometer's route policy (labels camelContext, routeId, eventType, kind).
          "camel_exchanges_total",
          "camel_exchanges_succeeded_total",
          "camel_exchanges_failed_total",
          "camel_exchanges_failures_handled_total",
          "camel_exchanges_external_redeliveries_total",
          "camel_route_policy_seconds_count",
          "camel_route_policy_seconds_sum",
          "camel_route_policy_seconds_max",
          // Spring Boot's JVM, HTTP and connection pool meters.
          "jvm_memory_used_bytes",
          "jvm_memory_max_bytes",
          "process_cpu_usage",
          "http_server_requests_seconds_count",
          "http_server_requests_seconds_sum",
          "hikaricp_connections_active",
          "hikaricp_connections_pending",
          // Prometheus's own per-target series.
          "up");

  /** PromQL functions and aggregations we use; anything else is a typo until added here. */
  static final Set<String> KNOWN_FUNCTIONS =
      Set.of(
          "sum",
          "max",
          "min",
          "avg",
          "count",
          "topk",
          "bottomk",
          "rate",
          "irate",
          "increase",
          "delta",
          "deriv",
          "max_over_time",
          "min_over_time",
          "avg_over_time",
          "abs",
          "round",
          "clamp_min",
          "clamp_max",
          "histogram_quantile",
          "absent",
          "time");

  @Test
  void theAlertRulesQueryOnlyKnownMetrics() throws IOException {
    Map<String, String> expressions = new LinkedHashMap<>();
    for (Map<String, Object> rule : MonitoringFiles.alertRules()) {
      expressions.put(ALERT_RULES + " " + rule.get("alert"), String.valueOf(rule.get("expr")));
    }
    assertOnlyKnownNames(expressions);
  }

  @Test
  void theDashboardQueriesOnlyKnownMetrics() throws IOException {
    assertOnlyKnownNames(dashboardExpressions());
  }

  @Test
  void theDashboardChartsEveryQuarryMetric() throws IOException {
    Set<String> charted = new LinkedHashSet<>();
    dashboardExpressions().values().forEach(e -> charted.addAll(PromQl.names(e).metrics()));
    Set<String> quarryMetrics = new LinkedHashSet<>();
    KNOWN_METRICS.stream().filter(m -> m.startsWith("quarry_")).forEach(quarryMetrics::add);
    quarryMetrics.remove("quarry_job_duration_seconds_count"); // charted through its _sum
    assertThat(charted).as("metrics charted by %s", DASHBOARD).containsAll(quarryMetrics);
  }

  @Test
  void theRuleTestsFeedOnlyKnownMetrics() throws IOException {
    Map<String, Object> file = map(loadYaml(ALERT_RULE_TESTS), ALERT_RULE_TESTS.toString());
    Set<String> fed = new LinkedHashSet<>();
    for (Object test : list(file.get("tests"), "tests")) {
      for (Object input : list(map(test, "a test").get("input_series"), "input_series")) {
        String series = String.valueOf(map(input, "an input series").get("series"));
        fed.add(series.contains("{") ? series.substring(0, series.indexOf('{')).trim() : series);
      }
    }
    assertThat(fed).as("input series names of %s", ALERT_RULE_TESTS).isSubsetOf(KNOWN_METRICS);
  }

  @Test
  void readsMetricAndFunctionNamesOutOfAnExpression() {
    PromQl.Names names =
        PromQl.names(
            "sum by (job, routeId) (rate(camel_exchanges_failed_total{eventType=\"route\",a=~\"x.y\"}[5m]))"
                + " / on (routeId) group_left (x) max without (instance)"
                + " (quarry_queue_messages{queue=~\".*\\\\.dlq-.*\"} offset 1h) > 1e9"
                + " and bool up unless avg_over_time(jvm_memory_used_bytes[$__rate_interval])");
    assertThat(names.metrics())
        .containsExactly(
            "camel_exchanges_failed_total", "quarry_queue_messages", "up", "jvm_memory_used_bytes");
    assertThat(names.functions()).containsExactly("sum", "rate", "max", "avg_over_time");
  }

  @Test
  void aMisspeltMetricIsNotKnown() {
    Set<String> used = PromQl.names("sum(rate(quarry_mining_page_total[5m]))").metrics();
    assertThat(used).containsExactly("quarry_mining_page_total");
    assertThat(KNOWN_METRICS).doesNotContainAnyElementsOf(used);
  }

  private static void assertOnlyKnownNames(Map<String, String> expressions) {
    assertThat(expressions).as("expressions to check").isNotEmpty();
    expressions.forEach(
        (where, expression) -> {
          PromQl.Names names = PromQl.names(expression);
          assertThat(names.metrics())
              .as("metrics used by %s: %s", where, expression)
              .isNotEmpty()
              .isSubsetOf(KNOWN_METRICS);
          assertThat(names.functions())
              .as("functions used by %s: %s", where, expression)
              .isSubsetOf(KNOWN_FUNCTIONS);
        });
  }

  /** Every target expression of the dashboard, keyed by panel title and refId. */
  static Map<String, String> dashboardExpressions() throws IOException {
    JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    Map<String, String> expressions = new LinkedHashMap<>();
    for (JsonNode panel : GrafanaDashboardTest.panels(dashboard)) {
      for (JsonNode target : panel.path("targets")) {
        expressions.put(
            DASHBOARD + " panel \"" + panel.path("title").asText() + "\" " + target.path("refId"),
            target.path("expr").asText());
      }
    }
    return expressions;
  }
}
