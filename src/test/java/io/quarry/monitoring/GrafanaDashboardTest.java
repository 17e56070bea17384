package io.quarry.monitoring;

import static io.quarry.monitoring.MonitoringFiles.DASHBOARD;
import static io.quarry.monitoring.MonitoringFiles.GRAFANA_PROVISIONING;
import static io.quarry.monitoring.MonitoringFiles.list;
import static io.quarry.monitoring.MonitoringFiles.loadYaml;
import static io.quarry.monitoring.MonitoringFiles.map;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The provisioned Grafana dashboard: Grafana finds it where Compose mounts it, and every panel
 * queries the provisioned Prometheus datasource with a real expression (an unknown datasource uid
 * or an empty query only shows as a broken panel once the stack runs).
 */
class GrafanaDashboardTest {

  private static final Path DATASOURCES = GRAFANA_PROVISIONING.resolve("datasources");
  private static final Path DASHBOARD_PROVIDERS = GRAFANA_PROVISIONING.resolve("dashboards");
  private static final int GRID_COLUMNS = 24;

  private static JsonNode dashboard;
  private static String datasourceUid;

  @BeforeAll
  static void read() throws IOException {
    dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    datasourceUid = prometheusDatasourceUid();
  }

  @Test
  void everyPanelQueriesTheProvisionedPrometheusDatasource() {
    List<JsonNode> panels = panels(dashboard);
    assertThat(panels).as("panels of %s", DASHBOARD).hasSizeGreaterThanOrEqualTo(12);
    for (JsonNode panel : panels) {
      String title = panel.path("title").asText();
      assertThat(panel.path("datasource").path("uid").asText())
          .as("datasource uid of panel \"%s\"", title)
          .isEqualTo(datasourceUid);
      assertThat(panel.path("datasource").path("type").asText())
          .as("datasource type of panel \"%s\"", title)
          .isEqualTo("prometheus");
      assertThat(panel.path("targets")).as("targets of panel \"%s\"", title).isNotEmpty();
      Set<String> refIds = new HashSet<>();
      for (JsonNode target : panel.path("targets")) {
        assertThat(target.path("expr").asText())
            .as("expr of a target of panel \"%s\"", title)
            .isNotBlank();
        assertThat(target.path("datasource").path("uid").asText(datasourceUid))
            .as("datasource uid of a target of panel \"%s\"", title)
            .isEqualTo(datasourceUid);
        assertThat(refIds.add(target.path("refId").asText()))
            .as("refId %s is unique in panel \"%s\"", target.path("refId"), title)
            .isTrue();
      }
    }
  }

  @Test
  void panelsHaveUniqueIdsAndTitlesAndFitTheGrid() {
    Set<Integer> ids = new HashSet<>();
    Set<String> titles = new HashSet<>();
    List<JsonNode> all = new ArrayList<>();
    dashboard.path("panels").forEach(all::add);
    dashboard.path("panels").forEach(p -> p.path("panels").forEach(all::add));
    for (JsonNode panel : all) {
      String title = panel.path("title").asText();
      assertThat(title).as("title of panel %s", panel.path("id")).isNotBlank();
      assertThat(ids.add(panel.path("id").asInt(-1))).as("id of \"%s\" is unique", title).isTrue();
      assertThat(titles.add(title)).as("title \"%s\" is unique", title).isTrue();
      JsonNode grid = panel.path("gridPos");
      assertThat(grid.path("w").asInt() + grid.path("x").asInt())
          .as("x + w of panel \"%s\"", title)
          .isBetween(1, GRID_COLUMNS);
      assertThat(grid.path("h").asInt()).as("h of panel \"%s\"", title).isPositive();
    }
    assertThat(dashboard.path("uid").asText()).as("dashboard uid").isNotBlank();
  }

  @Test
  void grafanaFindsTheDashboardWhereComposeMountsIt() throws IOException {
    List<Path> providerFiles;
    try (Stream<Path> files = Files.list(DASHBOARD_PROVIDERS)) {
      providerFiles = files.filter(f -> f.toString().matches(".*\\.ya?ml")).toList();
    }
    assertThat(providerFiles).as("dashboard providers in %s", DASHBOARD_PROVIDERS).isNotEmpty();
    List<Path> provided = new ArrayList<>();
    for (Path file : providerFiles) {
      Map<String, Object> config = map(loadYaml(file), file.toString());
      for (Object provider : list(config.get("providers"), "providers of " + file)) {
        Map<String, Object> options = map(map(provider, "a provider").get("options"), "options");
        String containerPath = String.valueOf(options.get("path"));
        Path hostPath =
            MonitoringFiles.hostPathOf("grafana", containerPath)
                .orElseThrow(
                    () ->
                        new AssertionError(
                            "no bind mount of the grafana service covers " + containerPath));
        assertThat(hostPath).as("%s (provider path %s)", hostPath, containerPath).isDirectory();
        try (Stream<Path> files = Files.list(hostPath)) {
          files.filter(f -> f.toString().endsWith(".json")).forEach(provided::add);
        }
      }
    }
    assertThat(provided).as("dashboards the providers load").contains(DASHBOARD.normalize());
  }

  /** Every panel that queries data: the top-level panels and those inside rows, rows left out. */
  static List<JsonNode> panels(JsonNode dashboard) {
    List<JsonNode> panels = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      if ("row".equals(panel.path("type").asText())) {
        panel.path("panels").forEach(panels::add);
      } else {
        panels.add(panel);
      }
    }
    return panels;
  }

  private static String prometheusDatasourceUid() throws IOException {
    List<String> uids = new ArrayList<>();
    try (Stream<Path> files = Files.list(DATASOURCES)) {
      for (Path file : files.filter(f -> f.toString().matches(".*\\.ya?ml")).toList()) {
        Map<String, Object> config = map(loadYaml(file), file.toString());
        for (Object datasource : list(config.get("datasources"), "datasources of " + file)) {
          Map<String, Object> fields = map(datasource, "a datasource");
          if ("prometheus".equals(fields.get("type"))) {
            uids.add(String.valueOf(fields.get("uid")));
          }
        }
      }
    }
    assertThat(uids).as("uids of the Prometheus datasources in %s", DATASOURCES).hasSize(1);
    return uids.get(0);
  }
}
