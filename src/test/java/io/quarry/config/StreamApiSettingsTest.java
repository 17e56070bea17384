package io.quarry.config;

import static org.assertj.core.api.Assertions.assertThat;

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

  private static StreamProperties stream(
      StreamProperties.Paging paging, StreamProperties.Items items, StreamProperties.Auth auth) {
    return new StreamProperties(
        "0 0 0 1 1 ? 2099", PATH, 10, 1, false, List.of("raw-storage"), 0, paging, items, auth);
  }
}
