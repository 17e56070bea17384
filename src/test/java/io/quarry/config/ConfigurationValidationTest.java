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
        "quarry.database.schema | Robert'); drop table | quarry.database.schema | lower-case SQL identifier | QUARRY_DATABASE_SCHEMA",
        "quarry.platform.base-url | '' | quarry.platform.base-url | must not be null | QUARRY_PLATFORM_BASE_URL",
        "quarry.database.pool-size | many | quarry.database.pool-size | cannot be read | QUARRY_DATABASE_POOL_SIZE",
        "quarry.database.probe-timeout | 500ms | quarry.database.probe-timeout | longer than or equal to 1 second | QUARRY_DATABASE_PROBE_TIMEOUT",
        "quarry.http.max-request-body | 10GB | quarry.http.max-request-body | must be between 1KB and 100MB | QUARRY_HTTP_MAX_REQUEST_BODY",
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
