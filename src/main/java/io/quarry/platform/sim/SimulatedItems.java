package io.quarry.platform.sim;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;

/**
 * Deterministic items: the same user, stream, page and index always give the same item. Items are
 * newest first, three hours apart, so a few pages span several days. Streams whose name contains
 * {@code click} carry raw click fields for the parser.
 */
final class SimulatedItems {

  private static final Instant NEWEST = Instant.parse("2025-03-01T12:00:00Z");
  private static final Duration SPACING = Duration.ofHours(3);

  private SimulatedItems() {}

  static ObjectNode item(
      String userId, String stream, int page, int index, int perPage, int payloadBytes) {
    long ordinal = (long) (page - 1) * perPage + index;
    Instant createdAt =
        NEWEST
            .minus(SPACING.multipliedBy(ordinal))
            .minus(Duration.ofMinutes(Math.floorMod(userId.hashCode(), 60)));
    ObjectNode item = JsonNodeFactory.instance.objectNode();
    item.put("id", stream + "-" + userId + "-" + page + "-" + index);
    item.put("userId", userId);
    item.put("stream", stream);
    item.put("createdAt", createdAt.toString());
    if (stream.contains("click")) {
      item.put("adId", "ad-" + (ordinal % 4 + 1));
      item.put("clickedAt", createdAt.minusSeconds(1 + ordinal % 50).toString());
      item.put("cost", BigDecimal.valueOf(5 + ordinal * 37 % 95, 2).toPlainString());
      item.put("currency", "USD");
    }
    if (payloadBytes > 0) {
      item.put("payload", "x".repeat(payloadBytes));
    }
    return item;
  }
}
