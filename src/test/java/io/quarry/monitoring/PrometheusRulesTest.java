package io.quarry.monitoring;

import static io.quarry.monitoring.MonitoringFiles.ALERT_RULES;
import static io.quarry.monitoring.MonitoringFiles.ALERT_RULE_TESTS;
import static io.quarry.monitoring.MonitoringFiles.PROMETHEUS_CONFIG;
import static io.quarry.monitoring.MonitoringFiles.PROMETHEUS_DIR;
import static io.quarry.monitoring.MonitoringFiles.list;
import static io.quarry.monitoring.MonitoringFiles.loadYaml;
import static io.quarry.monitoring.MonitoringFiles.map;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Prometheus configuration and its alert rules: promtool checks both and runs the rules' unit
 * tests (tests/quarry-alerts-test.yml), which feed series and assert when each alert fires. Without
 * promtool (Debian package prometheus) those two tests are skipped locally and fail in CI.
 */
class PrometheusRulesTest {

  private static final String CONTAINER_CONFIG = "/etc/prometheus/prometheus.yml";
  private static final long PROMTOOL_TIMEOUT_SECONDS = 120;
  private static final Pattern GROUPED_BY = Pattern.compile("\\bby\\s*\\(([^)]*)\\)");

  @Test
  void promtoolAcceptsTheConfigurationAndFindsTheRules(@TempDir Path dir) throws Exception {
    Path promtool = promtool();
    // The password file only exists inside the container (a Compose secret): point a copy of the
    // configuration at a dummy one, next to a copy of the rules it loads.
    Path passwordFile = Files.writeString(dir.resolve("viewer-password"), "dummy");
    String config = Files.readString(PROMETHEUS_CONFIG);
    String passwordPath = passwordFileOf();
    Path copy =
        Files.writeString(
            dir.resolve("prometheus.yml"),
            config.replace(passwordPath, passwordFile.toAbsolutePath().toString()));
    copyTree(PROMETHEUS_DIR.resolve("rules"), dir.resolve("rules"));

    String output = run(promtool, dir, "check", "config", copy.toString());

    assertThat(output)
        .as("promtool check config should load the alert rules:%n%s", output)
        .contains(ALERT_RULES.getFileName().toString())
        .containsPattern("SUCCESS: [1-9][0-9]* rules found");
  }

  @Test
  void alertRulesPassTheirUnitTests() throws Exception {
    Path promtool = promtool();
    String output =
        run(
            promtool,
            PROMETHEUS_DIR,
            "test",
            "rules",
            PROMETHEUS_DIR.relativize(ALERT_RULE_TESTS).toString());
    assertThat(output).as("promtool test rules output").contains("SUCCESS");
  }

  @Test
  void everyAlertWaitsBeforeFiringHasASeverityAndNamesWhatItIsAbout() throws IOException {
    List<Map<String, Object>> alerts = MonitoringFiles.alertRules();
    assertThat(alerts).as("alerts in %s", ALERT_RULES).hasSizeGreaterThanOrEqualTo(6);
    for (Map<String, Object> alert : alerts) {
      Object name = alert.get("alert");
      assertThat(alert.get("for")).as("for: of %s", name).isNotNull();
      Map<String, Object> labels = map(alert.get("labels"), "labels of " + name);
      assertThat(labels.get("severity")).as("severity of %s", name).isIn("critical", "warning");
      Map<String, Object> annotations = map(alert.get("annotations"), "annotations of " + name);
      String summary = String.valueOf(annotations.get("summary"));
      assertThat(summary).as("summary of %s", name).isNotBlank().isNotEqualTo("null");
      assertThat(String.valueOf(annotations.get("description")))
          .as("description of %s", name)
          .hasSizeGreaterThan(40);
      // The alert carries the labels it is grouped by; its summary names each one but the job.
      Matcher groupedBy = GROUPED_BY.matcher(String.valueOf(alert.get("expr")));
      if (groupedBy.find()) {
        for (String label : groupedBy.group(1).split("\\s*,\\s*")) {
          if (!label.equals("job")) {
            assertThat(summary)
                .as("summary of %s names its %s", name, label)
                .contains("$labels." + label);
          }
        }
      }
    }
  }

  @Test
  void everyAlertIsTestedFiringAndNotFiring() throws IOException {
    Map<String, int[]> cases = new LinkedHashMap<>(); // alert -> {firing, quiet}
    MonitoringFiles.alertRules()
        .forEach(a -> cases.put(String.valueOf(a.get("alert")), new int[2]));
    Map<String, Object> file = map(loadYaml(ALERT_RULE_TESTS), ALERT_RULE_TESTS.toString());
    assertThat(list(file.get("rule_files"), "rule_files").stream().map(String::valueOf))
        .as("rule_files of %s", ALERT_RULE_TESTS)
        .anySatisfy(
            f ->
                assertThat(ALERT_RULE_TESTS.getParent().resolve(f).normalize())
                    .isEqualTo(ALERT_RULES.normalize()));
    for (Object test : list(file.get("tests"), "tests")) {
      Object ruleTests = map(test, "a test").getOrDefault("alert_rule_test", List.of());
      for (Object ruleTest : list(ruleTests, "alert_rule_test")) {
        Map<String, Object> fields = map(ruleTest, "an alert_rule_test");
        int[] counts = cases.get(String.valueOf(fields.get("alertname")));
        assertThat(counts)
            .as("alert %s tested but not defined", fields.get("alertname"))
            .isNotNull();
        counts[list(fields.get("exp_alerts"), "exp_alerts").isEmpty() ? 1 : 0]++;
      }
    }
    cases.forEach(
        (alert, counts) -> {
          assertThat(counts[0]).as("cases in which %s must fire", alert).isPositive();
          assertThat(counts[1]).as("cases in which %s must not fire", alert).isPositive();
        });
  }

  @Test
  void composeMountsTheRulesWherePrometheusLoadsThem() throws IOException {
    Map<String, Object> config = map(loadYaml(PROMETHEUS_CONFIG), PROMETHEUS_CONFIG.toString());
    assertThat(MonitoringFiles.hostPathOf("prometheus", CONTAINER_CONFIG))
        .as("where compose.yaml mounts %s from", CONTAINER_CONFIG)
        .contains(PROMETHEUS_CONFIG.normalize());
    List<Path> loaded = new ArrayList<>();
    for (Object pattern : list(config.get("rule_files"), "rule_files of " + PROMETHEUS_CONFIG)) {
      // Relative rule_files resolve against the configuration file's directory.
      Path containerGlob = Path.of(CONTAINER_CONFIG).resolveSibling(String.valueOf(pattern));
      Optional<Path> hostDir =
          MonitoringFiles.hostPathOf("prometheus", containerGlob.getParent().toString());
      assertThat(hostDir)
          .as("bind mount of %s in compose.yaml", containerGlob.getParent())
          .isPresent();
      PathMatcher matcher =
          FileSystems.getDefault().getPathMatcher("glob:" + containerGlob.getFileName());
      try (Stream<Path> files = Files.list(hostDir.get())) {
        files.filter(f -> matcher.matches(f.getFileName())).forEach(loaded::add);
      }
    }
    assertThat(loaded).as("rule files Prometheus loads in the container").contains(ALERT_RULES);
  }

  private static String passwordFileOf() throws IOException {
    Map<String, Object> parsed = map(loadYaml(PROMETHEUS_CONFIG), PROMETHEUS_CONFIG.toString());
    for (Object job : list(parsed.get("scrape_configs"), "scrape_configs")) {
      Object basicAuth = map(job, "a scrape config").get("basic_auth");
      if (basicAuth instanceof Map<?, ?> auth && auth.get("password_file") != null) {
        return String.valueOf(auth.get("password_file"));
      }
    }
    throw new AssertionError("no basic_auth.password_file in " + PROMETHEUS_CONFIG);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path file : files.toList()) {
        Path target = to.resolve(from.relativize(file).toString());
        if (Files.isDirectory(file)) {
          Files.createDirectories(target);
        } else {
          Files.copy(file, target);
        }
      }
    }
  }

  /** Runs promtool in {@code directory}; fails with its output unless it exits with 0. */
  private static String run(Path promtool, Path directory, String... arguments)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(promtool.toString());
    command.addAll(List.of(arguments));
    Path log = Files.createTempFile("promtool", ".log");
    try {
      Process process =
          new ProcessBuilder(command)
              .directory(directory.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      if (!process.waitFor(PROMTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        Assertions.fail(String.join(" ", command) + " did not finish:\n" + Files.readString(log));
      }
      String text = Files.readString(log);
      assertThat(process.exitValue())
          .as("exit code of `%s` in %s:%n%s", String.join(" ", command), directory, text)
          .isZero();
      return text;
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /** promtool from the PATH; missing, the test is skipped, or fails when CI is set. */
  private static Path promtool() {
    Optional<Path> found =
        Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
            .filter(dir -> !dir.isBlank())
            .map(dir -> Path.of(dir, "promtool"))
            .filter(Files::isExecutable)
            .findFirst();
    String missing =
        "promtool is not on the PATH (Debian: apt-get install prometheus; or a release from"
            + " https://prometheus.io/download/)";
    if (found.isEmpty() && System.getenv("CI") != null) {
      Assertions.fail(missing + "; CI is set, so the Prometheus rules must be checked");
    }
    Assumptions.assumeTrue(found.isPresent(), missing + ": skipping the promtool checks");
    return found.get();
  }
}
