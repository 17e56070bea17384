package io.quarry.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarry.QuarryApplication;
import io.quarry.support.Causes;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.mock.env.MockEnvironment;

/** The prod profile has no default password: without one, Quarry refuses to start. */
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
                assertThat(Causes.find(e, InvalidConfigurationException.class))
                    .isNotNull()
                    .extracting(InvalidConfigurationException::key)
                    .isEqualTo("quarry.security.admin.password"));
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
                assertThat(Causes.find(e, InvalidConfigurationException.class))
                    .isNotNull()
                    .extracting(InvalidConfigurationException::reason)
                    .asString()
                    .contains("at least 12 characters"));
  }

  @Test
  void prodStartsOnceBothPasswordsAreSet() {
    startProd(
            "quarry.security.admin.password=admin-password-long",
            "quarry.security.viewer.password=viewer-password-long")
        .close();
  }

  private org.springframework.context.ConfigurableApplicationContext startProd(String... extra) {
    return new SpringApplicationBuilder(QuarryApplication.class)
        .web(WebApplicationType.SERVLET)
        .profiles("prod")
        .run(
            Stream.concat(
                    Stream.of(
                        "quarry.environment=" + env,
                        "quarry.database.schema=" + env,
                        "quarry.security.token-key=dGVzdC1vbmx5LWtleS1mb3ItcXVhcnJ5LWl0LXRlc3Q=",
                        "server.port=0"),
                    Arrays.stream(extra))
                .map(p -> "--" + p)
                .toArray(String[]::new));
  }
}
