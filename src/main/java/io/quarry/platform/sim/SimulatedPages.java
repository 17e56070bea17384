package io.quarry.platform.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * Page bodies of the simulated API. Pages are numbered from 1; page 1 has no marker, page n's
 * marker is {@code "m-n"} (or the number n with {@link UserScenario#numericMarkers()}).
 */
final class SimulatedPages {

  static final int DEFAULT_ITEMS_PER_PAGE = 20;

  private final ObjectMapper json = new ObjectMapper();

  /** The page a marker points to (null marker: page 1), or null for an unknown marker. */
  static Integer pageOf(String marker) {
    if (marker == null) {
      return 1;
    }
    String digits = marker.startsWith("m-") ? marker.substring(2) : marker;
    if (digits.isEmpty() || digits.length() > 9 || !digits.chars().allMatch(Character::isDigit)) {
      return null;
    }
    return Integer.parseInt(digits);
  }

  /** The body of the user's page, or null when the user has no such page. */
  byte[] body(String userId, String stream, int page, int limit, UserScenario user, int pages) {
    if (page < 1 || page > Math.max(pages, 1)) {
      return null;
    }
    int perPage = pages == 0 ? 0 : Math.min(limit, user.itemsPerPageOr(DEFAULT_ITEMS_PER_PAGE));
    ArrayNode items = json.createArrayNode();
    for (int i = 0; i < perPage; i++) {
      items.add(SimulatedItems.item(userId, stream, page, i, perPage, user.hugeItemBytes()));
    }
    Integer next = nextPage(page, pages, user);
    JsonNode marker = next == null ? null : marker(next, user);
    byte[] body =
        write(user.servesAlternativeShape() ? alternative(items, marker) : standard(items, marker));
    return page == user.malformedAtPage() ? Arrays.copyOf(body, body.length / 2) : body;
  }

  private static Integer nextPage(int page, int pages, UserScenario user) {
    if (user.repeatMarkerFromPage() > 0 && page >= user.repeatMarkerFromPage()) {
      return page;
    }
    if (page == user.cycleAtPage()) {
      return page - 1;
    }
    return page < pages ? page + 1 : null;
  }

  private static JsonNode marker(int page, UserScenario user) {
    return user.servesNumericMarkers() ? IntNode.valueOf(page) : TextNode.valueOf("m-" + page);
  }

  private ObjectNode standard(ArrayNode items, JsonNode marker) {
    ObjectNode root = json.createObjectNode();
    root.set("items", items);
    root.put("hasMore", marker != null);
    if (marker != null) {
      root.set("nextMarker", marker);
    }
    return root;
  }

  private ObjectNode alternative(ArrayNode items, JsonNode marker) {
    ObjectNode root = json.createObjectNode();
    root.set("data", items);
    ObjectNode paging = root.putObject("paging");
    if (marker != null) {
      paging.set("next", marker);
    }
    paging.put("more", marker != null);
    return root;
  }

  private byte[] write(ObjectNode root) {
    try {
      return json.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
