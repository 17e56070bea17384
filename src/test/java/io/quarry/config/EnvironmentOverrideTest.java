package io.quarry.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.io.ClassPathResource;

/** Every key can be set from the environment, including those of streams with a dash. */
class EnvironmentOverrideTest {

  @Test
  void environmentVariablesOverrideTheYamlDefaults() throws IOException {
    QuarryProperties properties =
        bind(
            Map.of(
                "QUARRY_ENVIRONMENT", "staging",
                "QUARRY_RABBITMQ_HOST", "rabbit.internal",
                "QUARRY_DATABASE_POOL_SIZE", "30",
                "QUARRY_PLATFORM_BASE_URL", "https://graph.example.com",
                "QUARRY_STREAMS_POSTS_SCHEDULE", "0 0 */6 * * ?",
                "QUARRY_STREAMS_POSTS_PAGES_PER_MESSAGE", "3"));

    assertThat(properties.environment()).isEqualTo("staging");
    assertThat(properties.rabbitmq().host()).isEqualTo("rabbit.internal");
    assertThat(properties.database().poolSize()).isEqualTo(30);
    assertThat(properties.platform().baseUrl()).hasToString("https://graph.example.com");
    assertThat(properties.streams().get("posts").schedule()).isEqualTo("0 0 */6 * * ?");
    assertThat(properties.streams().get("posts").pagesPerMessage()).isEqualTo(3);
    assertThat(properties.streams().get("ads").schedule()).isEqualTo("0 1/5 * * * ?");
  }

  @Test
  void aStreamWithADashTakesAnUnderscoreInTheVariableName() throws IOException {
    QuarryProperties properties = bind(Map.of("QUARRY_STREAMS_AD_CLICKS_SCHEDULE", "0 30 * * * ?"));

    assertThat(properties.streams()).containsOnlyKeys("posts", "ads", "ad-clicks");
    assertThat(properties.streams().get("ad-clicks").schedule()).isEqualTo("0 30 * * * ?");
  }

  @Test
  void aStreamsRateLimitSignalsAreSetFromTheEnvironment() throws IOException {
    QuarryProperties properties =
        bind(
            Map.of(
                "QUARRY_STREAMS_POSTS_RATE_LIMIT_USAGE_HEADER", "x-app-usage",
                "QUARRY_STREAMS_POSTS_RATE_LIMIT_USAGE_CEILING", "80"));

    StreamProperties posts = properties.streams().get("posts");
    assertThat(posts.rateLimit().usageHeader()).isEqualTo("x-app-usage");
    assertThat(posts.rateLimit().usageCeiling()).isEqualTo(80.0);
    assertThat(posts.customisesApi()).isTrue();
    assertThat(properties.streams().get("ads").rateLimit()).isNull();
  }

  @Test
  void anErrorRuleTakesOneVariablePerKeyAndEntry() throws IOException {
    QuarryProperties properties =
        bind(
            Map.of(
                "QUARRY_STREAMS_POSTS_ERROR_RULES_0_STATUS", "400",
                "QUARRY_STREAMS_POSTS_ERROR_RULES_0_BODY_PATH", "/error/code",
                "QUARRY_STREAMS_POSTS_ERROR_RULES_0_BODY_EQUALS", "4,17,32,613",
                "QUARRY_STREAMS_POSTS_ERROR_RULES_0_ACTION", "rate-limited",
                "QUARRY_STREAMS_POSTS_ERROR_RULES_1_STATUS", "400",
                "QUARRY_STREAMS_POSTS_ERROR_RULES_1_ACTION", "permanent"));

    assertThat(properties.streams().get("posts").errorRules())
        .hasSize(2)
        .first()
        .satisfies(
            rule -> {
              assertThat(rule.status()).containsExactly("400");
              assertThat(rule.bodyPath()).isEqualTo("/error/code");
              assertThat(rule.bodyEquals()).containsExactly("4", "17", "32", "613");
              assertThat(rule.action()).isEqualTo("rate-limited");
            });
    assertThat(properties.streams().get("ads").errorRules()).isNull();
  }

  @Test
  void apiClientsAreACommaSeparatedListAndNoneByDefault() throws IOException {
    String first = "auth-service:admin:" + "ab".repeat(32);
    String second = "nightly-report:viewer:" + "cd".repeat(32);

    assertThat(bind(Map.of()).security().apiClients()).isEmpty();
    assertThat(bind(Map.of("QUARRY_SECURITY_API_CLIENTS", first + "," + second)).security())
        .extracting(QuarryProperties.Security::apiClients)
        .isEqualTo(List.of(first, second));
  }

  @Test
  void simulatorFaultsAreACommaSeparatedListAndNoneByDefault() throws IOException {
    assertThat(bind(Map.of()).platform().simulatorFaults()).isEmpty();
    assertThat(
            bind(Map.of(
                    "QUARRY_PLATFORM_SIMULATOR_FAULTS",
                    "demo-user-3=unauthorized,demo-user-7=server-errors:5+pages:12"))
                .platform()
                .simulatorFaults())
        .containsExactly("demo-user-3=unauthorized", "demo-user-7=server-errors:5+pages:12");
  }

  @Test
  void previousTokenKeysAreACommaSeparatedListAndNoneByDefault() throws IOException {
    String first = "a2V5LWEtMzItYnl0ZXMtZm9yLXRlc3Rpbmctb25seSE=";
    String second = "a2V5LWItMzItYnl0ZXMtZm9yLXRlc3Rpbmctb25seSE=";
    assertThat(bind(Map.of()).security().previousTokenKeys()).isEmpty();
    assertThat(
            bind(Map.of("QUARRY_SECURITY_PREVIOUS_TOKEN_KEYS", first + "," + second))
                .security()
                .previousTokenKeys())
        .containsExactly(first, second);
  }

  private static QuarryProperties bind(Map<String, Object> variables) throws IOException {
    StandardEnvironment environment = new StandardEnvironment();
    environment
        .getPropertySources()
        .remove(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME);
    environment
        .getPropertySources()
        .addFirst(
            new SystemEnvironmentPropertySource(
                StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
    new YamlPropertySourceLoader()
        .load("application.yaml", new ClassPathResource("application.yaml"))
        .forEach(environment.getPropertySources()::addLast);
    return new Binder(ConfigurationPropertySources.get(environment))
        .bind("quarry", QuarryProperties.class)
        .get();
  }
}
