package io.quarry.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarry.QuarryApplication;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.mock.env.MockEnvironment;

/**
 * The prod profile has no default password: without one, or with one it refuses, Quarry does not
 * start; with an accepted one it starts against the real services and the login works.
 */
class StartupRefusalIT {

  private final String env = IsolatedEnvironment.newName();
  private final MockEnvironment props =
      new MockEnvironment()
          .withProperty("quarry.environment", env)
          .withProperty("quarry.database.schema", env);

  @AfterEach
  void cleanUp() throws Exception {
    Services.from(props).dropEnvironment(props);
  }

  @Test
  void prodRefusesToStartWithoutAnAdminPassword() {
    assertThatThrownBy(() -> startProd("quarry.security.viewer.password=viewer-password-long"))
        .satisfies(
            e ->
                assertThat(report(e))
                    .contains(
                        "quarry.security.admin.password must be set in the prod profile",
                        "QUARRY_SECURITY_ADMIN_PASSWORD"));
  }

  @Test
  void prodRefusesAShortPassword() {
    assertThatThrownBy(
            () ->
                startProd(
                    "quarry.security.admin.password=admin-password-long",
                    "quarry.security.viewer.password=short"))
        .satisfies(
            e ->
                assertThat(report(e))
                    .contains("quarry.security.viewer.password must have at least 12 characters"));
  }

  @Test
  void prodRefusesNoopWhichWouldLogInWithAnyShortPassword() {
    assertThatThrownBy(
            () ->
                startProd(
                    "quarry.security.admin.password={noop}x",
                    "quarry.security.viewer.password=viewer-password-long"))
        .satisfies(
            e ->
                assertThat(report(e))
                    .contains("quarry.security.admin.password must not be {noop}"));
  }

  @Test
  void everyProfileRefusesAPrefixThatNamesNoEncoderInsteadOfFailingEachLogin() {
    assertThatThrownBy(
            () ->
                start(
                    "test",
                    "quarry.security.admin.password={abc}defghijkl",
                    "quarry.security.viewer.password=viewer"))
        .satisfies(
            e ->
                assertThat(report(e))
                    .contains("quarry.security.admin.password")
                    .contains("names no known password encoder")
                    .doesNotContain("defghijkl"));
  }

  @Test
  void aMalformedApiClientStopsStartUpNamingItsPosition() {
    assertThatThrownBy(
            () ->
                start(
                    "test",
                    "quarry.security.admin.password=admin",
                    "quarry.security.viewer.password=viewer",
                    "quarry.security.api-clients=auth-service:admin:"
                        + "ab".repeat(32)
                        + ",script:root:"
                        + "cd".repeat(32)))
        .satisfies(
            e ->
                assertThat(report(e))
                    .contains("quarry.security.api-clients[1]", "must be name:role:sha256")
                    .doesNotContain("cd".repeat(32)));
  }

  @Test
  void prodStartsOnceBothPasswordsAreSet() {
    startProd(
            "quarry.security.admin.password=admin-password-long",
            "quarry.security.viewer.password=viewer-password-long")
        .close();
  }

  @Test
  void prodAcceptsABcryptHashAndTheAdminLogsInWithItsClearPassword() throws Exception {
    // BCryptPasswordEncoder(10).encode("admin-password-long")
    String hash = "{bcrypt}$2a$10$E9zc7cidqZwlQTfjo7cLju6fTmNr8rH1Hp7o5iNBMayUJ2CL.I/9.";
    try (ConfigurableApplicationContext context =
        startProd(
            "quarry.security.admin.password=" + hash,
            "quarry.security.viewer.password=viewer-password-long")) {
      int port = context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
      assertThat(get(port, "admin", "admin-password-long")).isEqualTo(200);
      assertThat(get(port, "admin", "wrong-password-long")).isEqualTo(401);
      assertThat(get(port, "admin", hash)).isEqualTo(401);
    }
  }

  private static int get(int port, String user, String password) throws Exception {
    String basic =
        Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/metrics"))
            .header("Authorization", "Basic " + basic)
            .build();
    return HttpClient.newHttpClient()
        .send(request, HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /** The start-up report an operator would read. */
  private static String report(Throwable failure) {
    FailureAnalysis analysis = new ConfigurationFailureAnalyzer().analyze(failure);
    assertThat(analysis).as("a configuration report for %s", failure.toString()).isNotNull();
    return analysis.getDescription();
  }

  private ConfigurableApplicationContext startProd(String... extra) {
    return start("prod", extra);
  }

  private ConfigurableApplicationContext start(String profile, String... extra) {
    return new SpringApplicationBuilder(QuarryApplication.class)
        .web(WebApplicationType.SERVLET)
        .profiles(profile)
        .run(
            Stream.concat(
                    Stream.of(
                        "quarry.environment=" + env,
                        "quarry.database.schema=" + env,
                        "quarry.security.token-key=dGVzdC1vbmx5LWtleS1mb3ItcXVhcnJ5LWl0LXRlc3Q=",
                        "server.port=0",
                        // The local services are guest/guest and trust authentication.
                        "quarry.security.allow-default-service-credentials=true"),
                    Arrays.stream(extra))
                .map(p -> "--" + p)
                .toArray(String[]::new));
  }
}
