package io.quarry.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.platform.ErrorRule;
import io.quarry.platform.InvalidApiSettingException;
import io.quarry.platform.Pagination;
import io.quarry.platform.PlatformClient;
import io.quarry.platform.StreamApi;
import io.quarry.platform.TokenPlacement;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A stream's API settings fall back to {@code quarry.platform} key by key. */
class StreamApiSettingsTest {

  private static final String PATH = "/users/{userId}/posts";
  private static final QuarryProperties.Platform PLATFORM =
      new QuarryProperties.Platform(
          URI.create("http://localhost:1"),
          Duration.ofSeconds(1),
          Duration.ofSeconds(1),
          "/entries",
          "/cursor",
          "/more",
          "uuid",
          "query",
          "key",
          false,
          List.of());

  @Test
  void aStreamThatOnlyNamesTheCursorStyleSpeaksThePlatformWideContract() {
    StreamProperties stream =
        stream(
            new StreamProperties.Paging(
                "cursor", null, null, null, null, null, null, null, null, null, null),
            null,
            null);
    StreamApi platformWide =
        PlatformClient.Settings.defaults(URI.create("http://localhost:1"))
            .withPaths("/entries", "/cursor", "/more", "uuid")
            .withToken(TokenPlacement.QUERY, "key")
            .api(PATH);

    assertThat(stream.customisesApi()).isTrue();
    assertThat(stream.api(PLATFORM)).isEqualTo(platformWide);
    assertThat(stream.api(PLATFORM).pagination().pageSizeParameter()).isEqualTo("limit");
    assertThat(stream.api(PLATFORM).pagination().cursorParameter()).isEqualTo("after");
  }

  @Test
  void eachKeyOverridesItsOwnDefaultOnly() {
    StreamProperties stream =
        stream(
            new StreamProperties.Paging(
                "last-item", "", "starting_after", null, null, null, null, null, null, null, null),
            new StreamProperties.Items(null, "/meta/key"),
            new StreamProperties.Auth("header", "X-Api-Key", null, null));

    StreamApi api = stream.api(PLATFORM);

    assertThat(api.pagination().style()).isEqualTo(Pagination.Style.LAST_ITEM);
    assertThat(api.pagination().pageSizeParameter()).as("empty: not sent").isNull();
    assertThat(api.pagination().cursorField()).as("the id by default").isEqualTo("/meta/key");
    assertThat(api.pagination().hasMorePath()).isEqualTo("/more");
    assertThat(api.itemsPath()).isEqualTo("/entries");
    assertThat(api.authentication().placement()).isEqualTo(TokenPlacement.HEADER);
    assertThat(api.authentication().header()).isEqualTo("X-Api-Key");
    assertThat(api.authentication().prefix()).as("Bearer only in Authorization").isEmpty();
  }

  @Test
  void aStreamWithoutSettingsOfItsOwnKeepsThePlatformWideCall() {
    StreamProperties stream =
        new StreamProperties("0 0 0 1 1 ? 2099", PATH, 10, 1, false, List.of("raw-storage"), 0);

    assertThat(stream.customisesApi()).isFalse();
  }

  @Test
  void errorRulesAndRateLimitSignalsAloneMakeAStreamOfItsOwn() {
    StreamProperties stream =
        new StreamProperties(
            "0 0 0 1 1 ? 2099",
            PATH,
            10,
            1,
            false,
            List.of("raw-storage"),
            0,
            null,
            null,
            null,
            List.of(
                new StreamProperties.ErrorRule(
                    List.of("400"),
                    "/error/code",
                    List.of("4", "17"),
                    null,
                    null,
                    null,
                    null,
                    "Rate-Limited",
                    Duration.ofSeconds(30))),
            new StreamProperties.RateLimit(
                "X-RateLimit-Remaining", null, "X-RateLimit-Reset", null, null, null, null));

    StreamApi api = stream.api(PLATFORM);

    assertThat(stream.customisesApi()).isTrue();
    assertThat(api.errorRules())
        .singleElement()
        .satisfies(
            rule -> {
              assertThat(rule.action()).isEqualTo(ErrorRule.Action.RATE_LIMITED);
              assertThat(rule.bodyEquals()).containsExactly("4", "17");
              assertThat(rule.defaultWait()).isEqualTo(Duration.ofSeconds(30));
            });
    assertThat(api.rateLimit().remainingFloor()).isZero();
    assertThat(api.rateLimit().resetHeader()).isEqualTo("X-RateLimit-Reset");
    // the pagination, items and token stay the platform-wide ones
    assertThat(api.pagination()).isEqualTo(Pagination.cursor("/cursor", "/more"));
    assertThat(api.itemsPath()).isEqualTo("/entries");
  }

  @Test
  void aRuleThatCannotWorkIsNamedByItsIndex() {
    StreamProperties stream =
        new StreamProperties(
            "0 0 0 1 1 ? 2099",
            PATH,
            10,
            1,
            false,
            List.of("raw-storage"),
            0,
            null,
            null,
            null,
            List.of(
                new StreamProperties.ErrorRule(
                    List.of("429"), null, null, null, null, null, null, "rate-limited", null),
                new StreamProperties.ErrorRule(
                    null, null, null, null, "X-Limit", null, "0", "ignore", Duration.ZERO)),
            null);

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> stream.api(PLATFORM))
        .isInstanceOfSatisfying(
            InvalidApiSettingException.class,
            e -> assertThat(e.key()).isEqualTo("error-rules[1].default-wait"));
  }

  private static StreamProperties stream(
      StreamProperties.Paging paging, StreamProperties.Items items, StreamProperties.Auth auth) {
    return new StreamProperties(
        "0 0 0 1 1 ? 2099", PATH, 10, 1, false, List.of("raw-storage"), 0, paging, items, auth);
  }
}
