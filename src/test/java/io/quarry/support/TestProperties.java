package io.quarry.support;

import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Quarry's configuration for tests without Spring: one stream {@code posts} (raw storage only,
 * schedule in 2099), a platform on an unused port and the mining defaults, with the few values a
 * test varies.
 */
public final class TestProperties {

  private TestProperties() {}

  /**
   * @param pagesPerMessage pages a mining message fetches before its continuation
   * @param parser whether the stream's batches go through its parser
   * @param compressionThreshold payload size above which messages are gzip-compressed
   */
  public static QuarryProperties posts(
      int pagesPerMessage, boolean parser, int compressionThreshold) {
    StreamProperties stream =
        new StreamProperties(
            "0 0 0 1 1 ? 2099",
            "/users/{userId}/posts",
            100,
            pagesPerMessage,
            parser,
            List.of("raw-storage"),
            0);
    MiningProperties mining = mining(compressionThreshold, 0);
    QuarryProperties.Platform platform =
        new QuarryProperties.Platform(
            URI.create("http://localhost:1"),
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            "/items",
            "/nextMarker",
            "/hasMore",
            "id",
            "header",
            "token",
            false,
            List.of());
    return of(platform, Map.of("posts", stream), mining);
  }

  /** Quarry's configuration of environment {@code qa} with only these parts set. */
  public static QuarryProperties of(
      QuarryProperties.Platform platform,
      Map<String, StreamProperties> streams,
      MiningProperties mining) {
    return new QuarryProperties(
        "qa", platform, null, null, null, streams, null, Map.of(), null, null, mining, null);
  }

  /**
   * The mining defaults of the tests: one consumer, one redelivery 10 ms later, chains stale after
   * an hour, ticks abandoned after two minutes.
   */
  public static MiningProperties mining(int compressionThreshold, int deadLetterRetries) {
    return new MiningProperties(
        1,
        10,
        1,
        5,
        100,
        500,
        compressionThreshold,
        Duration.ofHours(1),
        Duration.ofMinutes(2),
        1,
        Duration.ofMillis(10),
        deadLetterRetries);
  }
}
