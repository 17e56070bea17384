package io.quarry.platform;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;

/**
 * One page of a user's stream as the platform API returned it.
 *
 * @param items the items, each a JSON object that has the configured id field
 * @param nextMarker cursor of the next page; null when the API gave none (absent, null or empty). A
 *     numeric marker is returned as its text.
 * @param hasMore the API's has-more flag; when the API has none, whether a next marker was given
 * @param bytes size of the response body, for metrics and for deciding on compression
 * @param waitBeforeNext how long the chain waits before its next page because a rate-limit signal
 *     said the budget is spent; null: no wait
 */
public record Page(
    List<JsonNode> items, String nextMarker, boolean hasMore, int bytes, Duration waitBeforeNext) {

  public Page(List<JsonNode> items, String nextMarker, boolean hasMore, int bytes) {
    this(items, nextMarker, hasMore, bytes, null);
  }

  /** This page, with the chain to wait this long before the next one. */
  public Page waitingBeforeNext(Duration wait) {
    return new Page(items, nextMarker, hasMore, bytes, wait);
  }

  public Page {
    items = List.copyOf(items);
    nextMarker = nextMarker == null || nextMarker.isEmpty() ? null : nextMarker;
  }
}
