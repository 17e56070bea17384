package io.quarry.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quarry.QuarryApplication;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * A wrong value stops start-up before any connection is tried, and the report names the key and its
 * environment variable. Needs no running services: binding fails first.
 */
@ExtendWith(OutputCaptureExtension.class)
class ConfigurationValidationTest {

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "quarry.rabbitmq.port | 70000 | quarry.rabbitmq.port | must be less than or equal to 65535 | QUARRY_RABBITMQ_PORT",
        "quarry.environment | Prod! | quarry.environment | lower-case letters | QUARRY_ENVIRONMENT",
        "quarry.streams.posts.schedule | */5 * * * * | quarry.streams[posts].schedule | has 5 fields | QUARRY_STREAMS_POSTS_SCHEDULE",
        "quarry.streams.ads.schedule | 0 0 25 * * ? | quarry.streams[ads].schedule | not a valid Quartz cron | QUARRY_STREAMS_ADS_SCHEDULE",
        "quarry.streams.ad-clicks.schedule | never | quarry.streams[ad-clicks].schedule | has 1 fields | QUARRY_STREAMS_AD_CLICKS_SCHEDULE",
        "quarry.streams.posts.page-size | 0 | quarry.streams[posts].page-size | greater than or equal to 1 | QUARRY_STREAMS_POSTS_PAGE_SIZE",
        "quarry.streams.posts.pagination.style | next-url | quarry.streams[posts].pagination.next-url-path | is required by pagination style next-url | QUARRY_STREAMS_POSTS_PAGINATION_NEXT_URL_PATH",
        "quarry.streams.posts.pagination.style | pages | quarry.streams[posts].pagination.style | must be one of cursor, next-url | QUARRY_STREAMS_POSTS_PAGINATION_STYLE",
        "quarry.streams.ads.items.path | data | quarry.streams[ads].items.path | is not a JSON Pointer | QUARRY_STREAMS_ADS_ITEMS_PATH",
        "quarry.streams.ads.items.id-path | '' | quarry.streams[ads].items.id-path | must point into an item | QUARRY_STREAMS_ADS_ITEMS_ID_PATH",
        "quarry.streams.posts.pagination.cursor-path | next | quarry.streams[posts].pagination.cursor-path | is not a JSON Pointer | QUARRY_STREAMS_POSTS_PAGINATION_CURSOR_PATH",
        "quarry.streams.posts.auth.header | X Api Key | quarry.streams[posts].auth.header | must be an HTTP header name | QUARRY_STREAMS_POSTS_AUTH_HEADER",
        "quarry.streams.posts.error-rules[0].action | retry | quarry.streams[posts].error-rules[0].action | must be one of rate-limited, unauthorized, transient, permanent, ignore | QUARRY_STREAMS_POSTS_ERROR_RULES_0_ACTION",
        "quarry.streams.posts.error-rules[0].status | 400 | quarry.streams[posts].error-rules[0].action | is required, one of rate-limited | QUARRY_STREAMS_POSTS_ERROR_RULES_0_ACTION",
        "quarry.streams.posts.error-rules[0].action | ignore | quarry.streams[posts].error-rules[0].status | or body-path or header is required | QUARRY_STREAMS_POSTS_ERROR_RULES_0_STATUS",
        "quarry.streams.posts.error-rules[0].body-path | error.code | quarry.streams[posts].error-rules[0].body-path | is not a JSON Pointer | QUARRY_STREAMS_POSTS_ERROR_RULES_0_BODY_PATH",
        "quarry.streams.posts.rate-limit.usage-path | call_count | quarry.streams[posts].rate-limit.usage-path | is not a JSON Pointer | QUARRY_STREAMS_POSTS_RATE_LIMIT_USAGE_PATH",
        "quarry.streams.posts.rate-limit.remaining-floor | 5 | quarry.streams[posts].rate-limit.remaining-header | is required by rate-limit.remaining-floor | QUARRY_STREAMS_POSTS_RATE_LIMIT_REMAINING_HEADER",
        "quarry.database.schema | Robert'); drop table | quarry.database.schema | lower-case SQL identifier | QUARRY_DATABASE_SCHEMA",
        "quarry.platform.base-url | '' | quarry.platform.base-url | must not be null | QUARRY_PLATFORM_BASE_URL",
        "quarry.database.pool-size | many | quarry.database.pool-size | cannot be read | QUARRY_DATABASE_POOL_SIZE",
        "quarry.database.probe-timeout | 500ms | quarry.database.probe-timeout | longer than or equal to 1 second | QUARRY_DATABASE_PROBE_TIMEOUT",
        "quarry.http.max-request-body | 10GB | quarry.http.max-request-body | must be between 1KB and 100MB | QUARRY_HTTP_MAX_REQUEST_BODY",
        "quarry.security.login-throttle.address.max-failures | 0 | quarry.security.login-throttle.address.max-failures | greater than or equal to 1 | QUARRY_SECURITY_LOGIN_THROTTLE_ADDRESS_MAX_FAILURES",
        "quarry.security.login-throttle.account.cool-down | 0s | quarry.security.login-throttle.account.cool-down | longer than or equal to 1 second | QUARRY_SECURITY_LOGIN_THROTTLE_ACCOUNT_COOL_DOWN",
      })
  void aWrongValueStopsStartUpNamingTheKey(
      String key,
      String value,
      String reported,
      String reason,
      String variable,
      CapturedOutput output) {
    assertThatThrownBy(() -> start(key + "=" + value)).isNotNull();
    assertThat(output)
        .contains("Quarry's configuration is invalid")
        .contains(reported + " ")
        .contains(reason)
        .contains(variable);
  }

  @org.junit.jupiter.api.Test
  void aWrongTokenKeyIsReportedWithoutEchoingIt(CapturedOutput output) {
    String secret = "c2hvcnQtc2VjcmV0LXZhbHVl";
    assertThatThrownBy(() -> start("quarry.security.token-key=" + secret)).isNotNull();
    assertThat(output)
        .contains("quarry.security.token-key must be the Base64 encoding of 32 random bytes")
        .contains("QUARRY_SECURITY_TOKEN_KEY")
        .doesNotContain(secret);
  }

  @org.junit.jupiter.api.Test
  void aWrongPreviousTokenKeyIsReportedByItsIndexWithoutEchoingIt(CapturedOutput output) {
    String good = "a2V5LWEtMzItYnl0ZXMtZm9yLXRlc3Rpbmctb25seSE=";
    String secret = "c2hvcnQtc2VjcmV0LXZhbHVl";
    assertThatThrownBy(() -> start("quarry.security.previous-token-keys=" + good + "," + secret))
        .isNotNull();
    assertThat(output)
        .contains("Quarry's configuration is invalid")
        .contains(
            "quarry.security.previous-token-keys[1] must be the Base64 encoding of 32 random bytes")
        .contains(
            "(environment variable QUARRY_SECURITY_PREVIOUS_TOKEN_KEYS, its entry 1 counted from 0"
                + " in the comma-separated list)")
        .doesNotContain("previous-token-keys[0]")
        .doesNotContain(secret);
  }

  /** A prod configuration that passes every rule; each case below spoils one value. */
  private static final String[] GOOD_PROD = {
    "quarry.security.admin.password=admin-password-long",
    "quarry.security.viewer.password=viewer-password-long",
    "quarry.security.token-key=dGVzdC1vbmx5LWtleS1mb3ItcXVhcnJ5LWl0LXRlc3Q=",
    "quarry.rabbitmq.username=quarry",
    "quarry.database.password=database-password",
  };

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "quarry.security.admin.password | {noop}x | must not be {noop} in the prod profile",
        "quarry.security.admin.password | {noop}long-enough-in-clear | must not be {noop}",
        "quarry.security.viewer.password | {abc}defghijkl | names no known password encoder",
        "quarry.security.admin.password | {MD5}5f4dcc3b5aa765d61d8327deb882cf99 | weak hash {MD5}",
        "quarry.security.admin.password | {MD4}8a9d093f14f8701df17732b2bb182c74 | weak hash {MD4}",
        "quarry.security.admin.password | {SHA-1}5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8 | weak hash {SHA-1}",
        "quarry.security.admin.password | {sha256}97cde38028ad898ebcd5de2d4cd3c5c1e4f9ee0d7e1d9e4b | weak hash {sha256}",
        "quarry.security.admin.password | {ldap}{SSHA}aGFzaGFuZHNhbHQ= | weak hash {ldap}",
        "quarry.security.viewer.password | {bcrypt}not-a-bcrypt-hash-at-all | not a well-formed {bcrypt} hash",
        "quarry.security.viewer.password | {bcrypt}$2a$04$GMAU8emFdD6DxQuynNTLHuRGIfUlpIfc8k5cOxDARitQLo16eZRt. | cost below 10",
        "quarry.security.admin.password | {argon2}$argon2id$v=19$m=16384,t=2,p=1$c2FsdA$aGFzaA | needs Bouncy Castle",
        "quarry.security.admin.password | {my password in braces | has no {id} prefix",
        "quarry.security.viewer.password | short | at least 12 characters",
        "quarry.rabbitmq.username | guest | must not be guest in the prod profile",
        "quarry.database.password | '' | must not be empty in the prod profile",
      })
  void prodRefusesAWeakOrDefaultCredential(
      String key, String value, String reason, CapturedOutput output) {
    assertThatThrownBy(() -> startProd(key + "=" + value)).isNotNull();
    String variable = key.toUpperCase(java.util.Locale.ROOT).replaceAll("[.\\-]", "_");
    assertThat(output).contains("Quarry's configuration is invalid");
    assertThat(output.getAll().lines().filter(line -> line.startsWith("  " + key + " ")))
        .as("the report line of %s", key)
        .singleElement()
        .asString()
        .contains(reason)
        .contains("accepted: ")
        .endsWith("(environment variable " + variable + ")");
    if (value.length() > 8) {
      assertThat(output).as("the refused value is not echoed").doesNotContain(value);
    }
  }

  @org.junit.jupiter.api.Test
  void prodRefusesEveryDefaultServiceCredentialAtOnce(CapturedOutput output) {
    assertThatThrownBy(
            () -> startProd("quarry.rabbitmq.username=guest", "quarry.database.password="))
        .isNotNull();
    assertThat(output)
        .contains("quarry.rabbitmq.username must not be guest")
        .contains("quarry.database.password must not be empty")
        .contains("quarry.security.allow-default-service-credentials=true");
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"dev", "test"})
  void prodRefusesAProfileWithDevDefaultsBesideIt(String other, CapturedOutput output) {
    assertThatThrownBy(
            () ->
                new SpringApplicationBuilder(QuarryApplication.class)
                    .web(WebApplicationType.NONE)
                    .profiles("prod", other)
                    .run(args(GOOD_PROD))
                    .close())
        .isNotNull();
    assertThat(output)
        .contains("Quarry's configuration is invalid")
        .contains("spring.profiles.active must not combine prod with " + other)
        .contains("(environment variable SPRING_PROFILES_ACTIVE)");
  }

  /**
   * Accepted values get past validation: start-up then fails only on the unreachable database, not
   * with a configuration report.
   */
  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.ValueSource(
      strings = {
        // A real bcrypt hash (cost 10) of "admin-password-long".
        "quarry.security.admin.password={bcrypt}$2a$10$E9zc7cidqZwlQTfjo7cLju6fTmNr8rH1Hp7o5iNBMayUJ2CL.I/9.",
        "quarry.security.admin.password=a-plain-password",
        "quarry.rabbitmq.username=quarry",
        "quarry.security.allow-default-service-credentials=true",
      })
  void prodAcceptsAStrongOrExplicitCredential(String property, CapturedOutput output) {
    String[] properties =
        property.contains("allow-default")
            ? new String[] {property, "quarry.rabbitmq.username=guest", "quarry.database.password="}
            : new String[] {property};
    assertThatThrownBy(() -> startProd(properties)).isNotNull();
    assertThat(output).doesNotContain("Quarry's configuration is invalid");
  }

  /** Starts prod with {@link #GOOD_PROD}, each given {@code key=value} replacing its key's. */
  private static void startProd(String... properties) {
    java.util.Map<String, String> merged = new java.util.LinkedHashMap<>();
    Stream.concat(Arrays.stream(GOOD_PROD), Arrays.stream(properties))
        .forEach(p -> merged.put(p.substring(0, p.indexOf('=')), p));
    new SpringApplicationBuilder(QuarryApplication.class)
        .web(WebApplicationType.NONE)
        .profiles("prod")
        .run(args(merged.values().toArray(String[]::new)))
        .close();
  }

  private static String[] args(String... properties) {
    return Stream.concat(
            // Unreachable services: a failure must come from binding, not a connection.
            Stream.of(
                "quarry.environment=itvalidation",
                "quarry.database.port=1",
                "quarry.rabbitmq.port=1"),
            Arrays.stream(properties))
        .map(p -> "--" + p)
        .toArray(String[]::new);
  }

  private static void start(String... properties) {
    new SpringApplicationBuilder(QuarryApplication.class)
        .web(WebApplicationType.NONE)
        .profiles("test")
        .run(
            Stream.concat(
                    // Unreachable services: a failure must come from binding, not a connection.
                    Stream.of("quarry.environment=itvalidation", "quarry.database.port=1"),
                    Arrays.stream(properties))
                .map(p -> "--" + p)
                .toArray(String[]::new))
        .close();
  }
}
