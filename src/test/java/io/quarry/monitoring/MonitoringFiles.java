package io.quarry.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The monitoring files under {@code docker/} as the tests read them: YAML loading and where a
 * container path of a Compose service comes from on the host. Paths are relative to the project
 * directory, Maven's working directory for tests.
 */
final class MonitoringFiles {

  static final Path COMPOSE = Path.of("docker/compose.yaml");
  static final Path PROMETHEUS_DIR = Path.of("docker/prometheus");
  static final Path PROMETHEUS_CONFIG = PROMETHEUS_DIR.resolve("prometheus.yml");
  static final Path ALERT_RULES = PROMETHEUS_DIR.resolve("rules/quarry-alerts.yml");
  static final Path ALERT_RULE_TESTS = PROMETHEUS_DIR.resolve("tests/quarry-alerts-test.yml");
  static final Path GRAFANA_PROVISIONING = Path.of("docker/grafana/provisioning");
  static final Path DASHBOARD = GRAFANA_PROVISIONING.resolve("dashboards/quarry/quarry.json");

  private MonitoringFiles() {}

  static Object loadYaml(Path path) throws IOException {
    assertThat(path).as("%s (tests run in the project directory)", path).isRegularFile();
    try (Reader reader = Files.newBufferedReader(path)) {
      return new Yaml(new SafeConstructor(new LoaderOptions())).load(reader);
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object value, String what) {
    assertThat(value).as("%s should be a mapping", what).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object value, String what) {
    assertThat(value).as("%s should be a list", what).isInstanceOf(List.class);
    return (List<Object>) value;
  }

  /** Every alerting rule of the rule file, in order. */
  static List<Map<String, Object>> alertRules() throws IOException {
    Map<String, Object> file = map(loadYaml(ALERT_RULES), ALERT_RULES.toString());
    return list(file.get("groups"), "groups of " + ALERT_RULES).stream()
        .flatMap(group -> list(map(group, "a group").get("rules"), "rules of a group").stream())
        .map(rule -> map(rule, "a rule"))
        .filter(rule -> rule.containsKey("alert"))
        .toList();
  }

  /**
   * The host path behind {@code containerPath} in Compose service {@code service}: the bind mount
   * (short volume syntax, host side relative to {@code docker/}) with the longest matching target.
   */
  static Optional<Path> hostPathOf(String service, String containerPath) throws IOException {
    Map<String, Object> services =
        map(map(loadYaml(COMPOSE), COMPOSE.toString()).get("services"), "services");
    Object volumes = map(services.get(service), "service " + service).get("volumes");
    Path target = Path.of(containerPath).normalize();
    Path best = null;
    Path bestSource = null;
    for (Object volume : list(volumes == null ? List.of() : volumes, service + ".volumes")) {
      if (!(volume instanceof String mount)) {
        continue;
      }
      String[] parts = mount.split(":");
      if (parts.length < 2 || !parts[0].startsWith(".")) {
        continue;
      }
      Path mounted = Path.of(parts[1]).normalize();
      if (target.startsWith(mounted)
          && (best == null || mounted.getNameCount() > best.getNameCount())) {
        best = mounted;
        bestSource = COMPOSE.getParent().resolve(parts[0]).normalize();
      }
    }
    if (best == null) {
      return Optional.empty();
    }
    return Optional.of(bestSource.resolve(best.relativize(target).toString()).normalize());
  }
}
