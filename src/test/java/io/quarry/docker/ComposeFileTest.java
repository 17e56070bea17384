package io.quarry.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Checks the container files under {@code docker/} without a Docker engine: the Compose stack, the
 * Prometheus scrape configuration and the Dockerfile, read as YAML or text. Paths are relative to
 * the project directory, Maven's working directory for tests.
 */
class ComposeFileTest {

  private static final Path COMPOSE = Path.of("docker/compose.yaml");
  private static final Path COMPOSE_DEBUG = Path.of("docker/compose.debug.yaml");
  private static final Path PROMETHEUS = Path.of("docker/prometheus/prometheus.yml");
  private static final Path DOCKERFILE = Path.of("docker/Dockerfile");
  private static final Path APPLICATION_YAML = Path.of("src/main/resources/application.yaml");

  private static final List<String> SERVICES =
      List.of("rabbitmq", "postgres", "platform-sim", "quarry", "prometheus", "grafana");
  private static final List<String> LAYERS =
      List.of("dependencies", "spring-boot-loader", "snapshot-dependencies", "application");

  private static Map<String, Object> compose;
  private static Map<String, Object> services;

  @BeforeAll
  static void readCompose() throws IOException {
    compose = map(loadYaml(COMPOSE), "the top level of " + COMPOSE);
    services = map(compose.get("services"), "services of " + COMPOSE);
  }

  @Test
  void definesTheFiveServices() {
    assertThat(services.keySet()).as("services of %s", COMPOSE).containsAll(SERVICES);
  }

  @Test
  void everyServiceHasAHealthcheckAndAMemoryLimit() {
    for (String name : services.keySet()) {
      Map<String, Object> service = service(name);
      Map<String, Object> healthcheck = map(service.get("healthcheck"), name + ".healthcheck");
      assertThat(healthcheck.get("disable"))
          .as("%s.healthcheck.disable", name)
          .isNotEqualTo(Boolean.TRUE);
      assertThat(healthcheckCommand(healthcheck.get("test")))
          .as("%s.healthcheck.test must run a command", name)
          .isNotBlank();

      Map<String, Object> deploy = map(service.get("deploy"), name + ".deploy");
      Map<String, Object> resources = map(deploy.get("resources"), name + ".deploy.resources");
      Map<String, Object> limits = map(resources.get("limits"), name + ".deploy.resources.limits");
      assertThat(limits.get("memory"))
          .as("%s.deploy.resources.limits.memory", name)
          .isNotNull()
          .asString()
          .isNotBlank();
    }
  }

  @Test
  void everyServiceRestartsUnlessStopped() {
    for (String name : services.keySet()) {
      assertThat(service(name).get("restart")).as("%s.restart", name).isEqualTo("unless-stopped");
    }
  }

  @Test
  void quarryStartsOnlyOnceRabbitmqAndPostgresAreHealthy() {
    Map<String, Object> dependsOn = map(service("quarry").get("depends_on"), "quarry.depends_on");
    for (String dependency : List.of("rabbitmq", "postgres")) {
      Map<String, Object> condition =
          map(dependsOn.get(dependency), "quarry.depends_on." + dependency);
      assertThat(condition.get("condition"))
          .as("quarry.depends_on.%s.condition", dependency)
          .isEqualTo("service_healthy");
    }
  }

  @Test
  void everyQuarryVariableOfTheQuarryServiceNamesARealConfigurationKey() throws IOException {
    Map<String, Object> application = map(loadYaml(APPLICATION_YAML), APPLICATION_YAML.toString());
    Set<String> keys = new LinkedHashSet<>();
    flatten("", map(application.get("quarry"), "quarry in " + APPLICATION_YAML), keys);
    assertThat(keys).as("quarry.* keys in %s", APPLICATION_YAML).isNotEmpty();
    Set<String> normalisedKeys = new LinkedHashSet<>();
    keys.forEach(key -> normalisedKeys.add(normalise(key)));

    List<String> variables =
        environment(service("quarry")).keySet().stream()
            .filter(variable -> variable.startsWith("QUARRY_"))
            .toList();
    assertThat(variables)
        .as("QUARRY_* variables of the quarry service")
        .contains(
            "QUARRY_SECURITY_ADMIN_PASSWORD",
            "QUARRY_SECURITY_VIEWER_PASSWORD",
            "QUARRY_SECURITY_TOKEN_KEY");
    for (String variable : variables) {
      assertThat(normalisedKeys)
          .as(
              "%s of the quarry service should bind to a quarry.* key of %s, one of %s",
              variable, APPLICATION_YAML, keys)
          .contains(normalise(variable.substring("QUARRY_".length())));
    }
  }

  /** Ports of the broker and the database: AMQP, the management API, PostgreSQL. */
  private static final Set<Integer> PRIVATE_PORTS = Set.of(5672, 15672, 5432);

  private static final Pattern INTERPOLATION =
      Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)}");
  private static final Pattern SECRET_NAME =
      Pattern.compile("(?i).*(PASSWORD|_PASS|TOKEN_KEY|SECRET).*");

  @Test
  void noServicePublishesTheBrokerOrTheDatabase() {
    for (String name : services.keySet()) {
      for (Object port : list(service(name).getOrDefault("ports", List.of()), name + ".ports")) {
        assertThat(containerPort(port))
            .as("%s publishes %s; the broker and database stay on the Compose network", name, port)
            .isNotIn(PRIVATE_PORTS);
      }
    }
    assertThat(service("rabbitmq")).as("rabbitmq").doesNotContainKey("ports");
    assertThat(service("postgres")).as("postgres").doesNotContainKey("ports");
  }

  @Test
  void theDebugOverridePublishesThemOnLoopbackOnly() throws IOException {
    Map<String, Object> debug =
        map(map(loadYaml(COMPOSE_DEBUG), COMPOSE_DEBUG.toString()).get("services"), "services");
    Set<Integer> published = new LinkedHashSet<>();
    for (String name : debug.keySet()) {
      Map<String, Object> service = map(debug.get(name), name + " in " + COMPOSE_DEBUG);
      for (Object port : list(service.getOrDefault("ports", List.of()), name + ".ports")) {
        assertThat(String.valueOf(port))
            .as("%s.ports in %s must bind 127.0.0.1", name, COMPOSE_DEBUG)
            .startsWith("127.0.0.1:");
        published.add(containerPort(port));
      }
    }
    assertThat(published).as("ports published by %s", COMPOSE_DEBUG).isEqualTo(PRIVATE_PORTS);
  }

  @Test
  void everyPasswordComesFromARequiredVariable() throws IOException {
    List<String> secrets = new ArrayList<>();
    for (String name : services.keySet()) {
      Object environment = service(name).get("environment");
      if (environment == null) {
        continue;
      }
      environment(service(name))
          .forEach(
              (variable, value) -> {
                if (SECRET_NAME.matcher(variable).matches()) {
                  secrets.add(variable);
                  assertThat(String.valueOf(value))
                      .as(
                          "%s of %s must come from a required variable ${NAME:?message}",
                          variable, name)
                      .matches("\\$\\{[A-Z][A-Z0-9_]*:\\?[^}]+}");
                }
              });
    }
    assertThat(secrets)
        .as("password variables of the services")
        .contains(
            "RABBITMQ_DEFAULT_PASS",
            "POSTGRES_PASSWORD",
            "QUARRY_RABBITMQ_PASSWORD",
            "QUARRY_DATABASE_PASSWORD",
            "QUARRY_SECURITY_ADMIN_PASSWORD",
            "QUARRY_SECURITY_VIEWER_PASSWORD",
            "QUARRY_SECURITY_TOKEN_KEY",
            "GF_SECURITY_ADMIN_PASSWORD");

    // Anywhere in the file (comments aside), a secret-looking variable never has a default.
    for (String line : Files.readAllLines(COMPOSE)) {
      if (line.trim().startsWith("#")) {
        continue;
      }
      Matcher interpolation = INTERPOLATION.matcher(line);
      while (interpolation.find()) {
        if (SECRET_NAME.matcher(interpolation.group(1)).matches()) {
          assertThat(interpolation.group(2))
              .as(
                  "%s in %s: a password variable must be required (:?), never defaulted",
                  interpolation.group(), COMPOSE)
              .startsWith(":?");
        }
      }
    }
  }

  @Test
  void quarryAndTheServicesItLogsIntoShareTheirPasswordVariables() {
    Map<String, Object> quarry = environment(service("quarry"));
    assertThat(quarry.get("QUARRY_RABBITMQ_PASSWORD"))
        .isEqualTo(environment(service("rabbitmq")).get("RABBITMQ_DEFAULT_PASS"));
    assertThat(quarry.get("QUARRY_DATABASE_PASSWORD"))
        .isEqualTo(environment(service("postgres")).get("POSTGRES_PASSWORD"));
    assertThat(quarry.get("QUARRY_RABBITMQ_USERNAME"))
        .as("prod refuses the RabbitMQ user guest")
        .isEqualTo(environment(service("rabbitmq")).get("RABBITMQ_DEFAULT_USER"))
        .isNotEqualTo("guest");
  }

  @Test
  void prometheusScrapesQuarryActuatorEndpointAsALoggedInUser() throws IOException {
    Map<String, Object> job = scrapeJobTargeting("quarry:8080");
    assertThat(job.get("metrics_path"))
        .as("metrics_path of the job scraping quarry:8080")
        .isEqualTo("/actuator/prometheus");
    Map<String, Object> basicAuth = map(job.get("basic_auth"), "basic_auth of the quarry job");
    assertThat(basicAuth.get("username")).as("basic_auth.username").isNotNull();
    assertThat(basicAuth.get("password"))
        .as("the password belongs in password_file, not in %s", PROMETHEUS)
        .isNull();
    assertThat(basicAuth.get("password_file")).as("basic_auth.password_file").isNotNull();
  }

  @Test
  void prometheusFindsTheViewerPasswordWhereComposeMountsIt() throws IOException {
    Object passwordFile =
        map(scrapeJobTargeting("quarry:8080").get("basic_auth"), "basic_auth").get("password_file");
    List<Object> mounted = new ArrayList<>();
    Object secrets = service("prometheus").getOrDefault("secrets", List.of());
    for (Object secret : list(secrets, "prometheus.secrets")) {
      if (secret instanceof Map<?, ?> longSyntax) {
        mounted.add(longSyntax.get("target"));
      }
    }
    Object volumes = service("prometheus").getOrDefault("volumes", List.of());
    for (Object volume : list(volumes, "prometheus.volumes")) {
      if (volume instanceof String shortSyntax) {
        mounted.add(shortSyntax.split(":")[1]);
      }
    }
    assertThat(mounted)
        .as("files mounted into the prometheus service (secret targets and volumes)")
        .contains(passwordFile);
  }

  @Test
  void prometheusScrapesRabbitmqWithItsPluginEnabled() throws IOException {
    scrapeJobTargeting("rabbitmq:15692");
    assertThat(Files.readString(Path.of("docker/rabbitmq/enabled_plugins")))
        .as("docker/rabbitmq/enabled_plugins")
        .contains("rabbitmq_prometheus");
  }

  @Test
  void dockerfileBuildsInStagesAndRunsAsNonRootWithAHealthcheck() throws IOException {
    List<String[]> instructions = dockerInstructions();
    long froms = instructions.stream().filter(i -> i[0].equals("FROM")).count();
    assertThat(froms)
        .as("FROM lines in %s (a build and a runtime stage)", DOCKERFILE)
        .isGreaterThanOrEqualTo(2);

    List<String[]> runtime = finalStage(instructions);
    List<String> users = arguments(runtime, "USER");
    assertThat(users).as("USER in the runtime stage of %s", DOCKERFILE).isNotEmpty();
    String user = users.get(users.size() - 1).split(":")[0].trim();
    assertThat(user).as("the user the container runs as").isNotIn("root", "0");

    List<String> healthchecks = arguments(runtime, "HEALTHCHECK");
    assertThat(healthchecks).as("HEALTHCHECK in the runtime stage of %s", DOCKERFILE).isNotEmpty();
    assertThat(healthchecks.get(healthchecks.size() - 1).trim())
        .as("the runtime HEALTHCHECK")
        .doesNotStartWith("NONE")
        .contains("CMD ");

    assertThat(String.join("\n", arguments(runtime, "ENV")))
        .as("ENV of the runtime stage: the heap must follow the container's memory limit")
        .contains("MaxRAMPercentage");
  }

  @Test
  void dockerfileCopiesTheLayersFromLeastToMostOftenChanged() throws IOException {
    List<String> copied = new ArrayList<>();
    for (String copy : arguments(finalStage(dockerInstructions()), "COPY")) {
      if (!copy.contains("--from=")) {
        continue;
      }
      String source =
          List.of(copy.trim().split("\\s+")).stream()
              .filter(argument -> !argument.startsWith("--"))
              .findFirst()
              .orElse("");
      String[] segments = source.replaceAll("/+$", "").split("/");
      copied.add(segments[segments.length - 1]);
    }
    assertThat(copied)
        .as("layer directories copied by the runtime stage of %s, in order", DOCKERFILE)
        .containsExactlyElementsOf(LAYERS);
  }

  // ---- helpers ----

  private static Object loadYaml(Path path) throws IOException {
    assertThat(path).as("%s (tests run in the project directory)", path).isRegularFile();
    try (Reader reader = Files.newBufferedReader(path)) {
      return new Yaml(new SafeConstructor(new LoaderOptions())).load(reader);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object value, String what) {
    assertThat(value).as("%s should be a mapping", what).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object value, String what) {
    assertThat(value).as("%s should be a list", what).isInstanceOf(List.class);
    return (List<Object>) value;
  }

  private static Map<String, Object> service(String name) {
    return map(services.get(name), "service " + name);
  }

  /** The command of a healthcheck's test: a string, or CMD/CMD-SHELL followed by the command. */
  private static String healthcheckCommand(Object test) {
    if (test instanceof String command) {
      return command;
    }
    List<Object> parts = list(test, "healthcheck.test");
    if (parts.isEmpty() || !List.of("CMD", "CMD-SHELL").contains(parts.get(0))) {
      return "";
    }
    return String.join(" ", parts.subList(1, parts.size()).stream().map(String::valueOf).toList());
  }

  /** A service's environment, from either the mapping or the list ("KEY=value") syntax. */
  private static Map<String, Object> environment(Map<String, Object> service) {
    Object environment = service.get("environment");
    if (environment instanceof List<?> entries) {
      Map<String, Object> variables = new LinkedHashMap<>();
      for (Object entry : entries) {
        String[] pair = String.valueOf(entry).split("=", 2);
        variables.put(pair[0], pair.length > 1 ? pair[1] : null);
      }
      return variables;
    }
    return map(environment, "environment");
  }

  /**
   * The container port of a {@code ports} entry: short syntax {@code [IP:][HOST:]CONTAINER[/proto]}
   * or long syntax with {@code target}.
   */
  private static int containerPort(Object port) {
    if (port instanceof Map<?, ?> longSyntax) {
      return Integer.parseInt(String.valueOf(longSyntax.get("target")));
    }
    String[] parts = String.valueOf(port).split("/")[0].split(":");
    return Integer.parseInt(parts[parts.length - 1]);
  }

  /** Leaf keys under {@code prefix} (null values and lists included), dotted. */
  private static void flatten(String prefix, Map<String, Object> node, Set<String> keys) {
    for (Map.Entry<String, Object> entry : node.entrySet()) {
      String key = prefix.isEmpty() ? entry.getKey() : prefix + "." + entry.getKey();
      if (entry.getValue() instanceof Map<?, ?>) {
        flatten(key, map(entry.getValue(), key), keys);
      } else {
        keys.add(key);
      }
    }
  }

  /**
   * Spring's relaxed binding in one direction: {@code rabbitmq.virtual-host} and {@code
   * RABBITMQ_VIRTUAL_HOST} both become {@code rabbitmqvirtualhost}.
   */
  private static String normalise(String name) {
    return name.toLowerCase(Locale.ROOT).replaceAll("[-_.]", "");
  }

  private static Map<String, Object> scrapeJobTargeting(String target) throws IOException {
    Map<String, Object> prometheus = map(loadYaml(PROMETHEUS), PROMETHEUS.toString());
    for (Object job : list(prometheus.get("scrape_configs"), "scrape_configs")) {
      Map<String, Object> scrapeConfig = map(job, "a scrape config");
      for (Object staticConfig :
          list(scrapeConfig.getOrDefault("static_configs", List.of()), "static_configs")) {
        Object targets = map(staticConfig, "a static config").get("targets");
        if (targets instanceof List<?> list && list.contains(target)) {
          return scrapeConfig;
        }
      }
    }
    throw new AssertionError("no scrape config in " + PROMETHEUS + " targets " + target);
  }

  /**
   * The Dockerfile's instructions as {keyword, arguments}, continuation lines joined and comment
   * lines dropped.
   */
  private static List<String[]> dockerInstructions() throws IOException {
    assertThat(DOCKERFILE)
        .as("%s (tests run in the project directory)", DOCKERFILE)
        .isRegularFile();
    List<String[]> instructions = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : Files.readAllLines(DOCKERFILE)) {
      String trimmed = line.trim();
      if (trimmed.startsWith("#") || (trimmed.isEmpty() && current.isEmpty())) {
        continue;
      }
      if (trimmed.endsWith("\\")) {
        current.append(trimmed, 0, trimmed.length() - 1).append(' ');
        continue;
      }
      current.append(trimmed);
      Matcher matcher = Pattern.compile("(?s)([A-Za-z]+)\\s*(.*)").matcher(current.toString());
      if (matcher.matches()) {
        instructions.add(
            new String[] {matcher.group(1).toUpperCase(Locale.ROOT), matcher.group(2)});
      }
      current.setLength(0);
    }
    return instructions;
  }

  private static List<String[]> finalStage(List<String[]> instructions) {
    int lastFrom = -1;
    for (int i = 0; i < instructions.size(); i++) {
      if (instructions.get(i)[0].equals("FROM")) {
        lastFrom = i;
      }
    }
    assertThat(lastFrom).as("a FROM line in %s", DOCKERFILE).isNotNegative();
    return instructions.subList(lastFrom, instructions.size());
  }

  private static List<String> arguments(List<String[]> instructions, String keyword) {
    return instructions.stream().filter(i -> i[0].equals(keyword)).map(i -> i[1]).toList();
  }
}
