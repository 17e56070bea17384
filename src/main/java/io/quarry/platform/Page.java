package io.quarry.platform;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * One page of a user's stream as the platform API returned it.
 *
 * @param items the items, each a JSON object that has the configured id field
 * @param nextMarker cursor of the next page; null when the API gave none (absent, null or empty). A
 *     numeric marker is returned as its text.
 * @param hasMore the API's has-more flag; when the API has none, whether a next marker was given
 * @param bytes size of the response body, for metrics and for deciding on compression
 */
public record Page(List<JsonNode> items, String nextMarker, boolean hasMore, int bytes) {

  public Page {
    items = List.copyOf(items);
    nextMarker = nextMarker == null || nextMarker.isEmpty() ? null : nextMarker;
  }
}
