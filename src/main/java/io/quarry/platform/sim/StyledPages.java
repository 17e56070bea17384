package io.quarry.platform.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * Pages of the styled dialects ({@link ApiStyle} other than STANDARD). A user's items are one list
 * of {@link UserScenario#totalItemsOr} items, numbered from 0; a request asks for a slice of it by
 * the style's position (cursor, URL, last id, offset, page). The scenario's page faults count pages
 * of the requested size from 1: {@code repeat-marker} points from that page on to the same page
 * again (cursor, next URL, Link header) or answers every later request with that page, as an API
 * that ignores the offset, page number or {@code starting_after} would; {@code cycle} points that
 * page's next position back to the previous page (cursor, next URL, Link header); {@code malformed}
 * truncates that page in every style.
 */
final class StyledPages {

  private final ObjectMapper json = new ObjectMapper();

  /** A styled answer: status, body and extra headers. */
  record Answer(int status, byte[] body, Map<String, String> headers) {}

  /**
   * @param host the request's Host header, for the URLs of next pages
   * @param queryToken the token when it came as a query parameter (a next URL echoes it), or null
   */
  Answer serve(
      ApiStyle style,
      UserScenario user,
      String userId,
      String stream,
      Map<String, String> query,
      String host,
      String queryToken,
      int defaultPages) {
    int total = user.totalItemsOr(defaultPages * SimulatedPages.DEFAULT_ITEMS_PER_PAGE);
    int limit = positive(query.get(sizeParameter(style)), sizeParameter(style));
    long start = start(style, query, limit);
    if (start < 0 || start > total) {
      return error("unknown position");
    }
    int page = (int) (start / limit) + 1;
    int repeatFrom = user.repeatMarkerFromPage();
    if (repeatFrom > 0 && page > repeatFrom && !handsOutPositions(style)) {
      // an API that ignores the offset, page or starting_after it is sent
      start = (long) (repeatFrom - 1) * limit;
      page = repeatFrom;
    }
    long next = start + limit;
    if (repeatFrom > 0 && page >= repeatFrom) {
      next = start;
    } else if (page == user.cycleAtPage()) {
      next = start - limit;
    }
    int end = (int) Math.min(total, start + limit);
    ArrayNode items = json.createArrayNode();
    for (int ordinal = (int) start; ordinal < end; ordinal++) {
      items.add(item(userId, stream, ordinal, user.hugeItemBytes()));
    }
    boolean more = end < total;
    String base = "http://" + host + "/users/" + encode(userId) + "/" + encode(stream);
    Map<String, String> headers = Map.of();
    Object body;
    switch (style) {
      case CURSOR_CUSTOM -> {
        ObjectNode root = json.createObjectNode();
        root.set("data", items);
        ObjectNode meta = root.putObject("meta");
        meta.put("result_count", items.size());
        if (more) {
          meta.put("next_token", "t" + next);
        }
        body = root;
      }
      case NEXT_URL -> {
        ObjectNode root = json.createObjectNode();
        root.set("data", items);
        ObjectNode paging = root.putObject("paging");
        if (more) {
          String url = base + "?limit=" + limit + "&cursor=" + next;
          paging.put(
              "next", queryToken == null ? url : url + "&access_token=" + encode(queryToken));
        }
        body = root;
      }
      case LINK_HEADER -> {
        body = items;
        long lastPage = Math.max(1, (total + limit - 1) / limit);
        String link = "<" + base + "?per_page=" + limit + "&page=" + lastPage + ">; rel=\"last\"";
        if (more) {
          link =
              "<"
                  + base
                  + "?per_page="
                  + limit
                  + "&page="
                  + (next / limit + 1)
                  + ">; rel=\"next\", "
                  + link;
        }
        headers = Map.of("Link", link);
      }
      case LAST_ITEM -> {
        ObjectNode root = json.createObjectNode();
        root.put("object", "list");
        root.set("data", items);
        root.put("has_more", more);
        body = root;
      }
      case OFFSET -> {
        ObjectNode root = json.createObjectNode();
        root.set("records", items);
        root.put("total_count", total);
        body = root;
      }
      case PAGE_NUMBER -> {
        ObjectNode root = json.createObjectNode();
        root.set("results", items);
        root.put("total", total);
        body = root;
      }
      case BARE_ARRAY -> body = items;
      default -> throw new IllegalStateException("not a styled dialect: " + style);
    }
    byte[] bytes = write(body);
    if (page == user.malformedAtPage()) {
      bytes = Arrays.copyOf(bytes, bytes.length / 2);
    }
    return new Answer(200, bytes, headers);
  }

  /**
   * The page (from 1, in pages of the requested size) a request asks for, as page faults count
   * them; null when the position is unknown (a last-item request counts as page 1).
   */
  static Integer pageOf(ApiStyle style, Map<String, String> query) {
    int limit;
    try {
      limit = positive(query.get(sizeParameter(style)), sizeParameter(style));
    } catch (IllegalArgumentException badSize) {
      return null;
    }
    long start = start(style, query, limit);
    return start < 0 ? null : (int) (start / limit) + 1;
  }

  /** The first item's number the request asks for; -1 when its position is unknown. */
  private static long start(ApiStyle style, Map<String, String> query, int limit) {
    return switch (style) {
      case CURSOR_CUSTOM -> tagged(query.get("pagination_token"), "t");
      case NEXT_URL -> tagged(query.get("cursor"), "");
      case LAST_ITEM -> {
        String after = query.get("starting_after");
        if (after == null) {
          yield 0;
        }
        int dash = after.lastIndexOf('-');
        long ordinal = dash < 0 ? -1 : tagged(after.substring(dash + 1), "");
        yield ordinal < 0 ? -1 : ordinal + 1;
      }
      case OFFSET -> tagged(query.getOrDefault("offset", "0"), "");
      case LINK_HEADER, PAGE_NUMBER -> {
        long page = tagged(query.getOrDefault("page", "1"), "");
        yield page < 1 ? -1 : (page - 1) * limit;
      }
      case BARE_ARRAY -> {
        long page = tagged(query.getOrDefault("page", "0"), "");
        yield page < 0 ? -1 : page * limit;
      }
      default -> -1;
    };
  }

  /** Whether the API gives the next position (cursor, URL); else the client computes it. */
  private static boolean handsOutPositions(ApiStyle style) {
    return style == ApiStyle.CURSOR_CUSTOM
        || style == ApiStyle.NEXT_URL
        || style == ApiStyle.LINK_HEADER;
  }

  private static String sizeParameter(ApiStyle style) {
    return switch (style) {
      case CURSOR_CUSTOM -> "page_size";
      case LINK_HEADER, PAGE_NUMBER, BARE_ARRAY -> "per_page";
      default -> "limit";
    };
  }

  /** A number after a prefix ({@code t20} → 20); null is the start; -1 for anything else. */
  private static long tagged(String value, String prefix) {
    if (value == null) {
      return 0;
    }
    if (!value.startsWith(prefix)) {
      return -1;
    }
    String digits = value.substring(prefix.length());
    if (digits.isEmpty() || digits.length() > 9 || !digits.chars().allMatch(Character::isDigit)) {
      return -1;
    }
    return Long.parseLong(digits);
  }

  private static int positive(String number, String name) {
    if (number == null) {
      return SimulatedPages.DEFAULT_ITEMS_PER_PAGE;
    }
    try {
      int value = Integer.parseInt(number);
      if (value >= 1 && value <= 1000) {
        return value;
      }
    } catch (NumberFormatException notANumber) {
      // answered below
    }
    throw new IllegalArgumentException(name + " must be an integer from 1 to 1000");
  }

  private static ObjectNode item(String userId, String stream, int ordinal, int payloadBytes) {
    ObjectNode item = SimulatedItems.item(userId, stream, 1, ordinal, 1, payloadBytes);
    ObjectNode ref = JsonNodeFactory.instance.objectNode();
    ref.put("key", "key-" + item.get("id").asText());
    item.set("ref", ref);
    return item;
  }

  private static Answer error(String message) {
    return new Answer(
        400, ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8), Map.of());
  }

  private byte[] write(Object body) {
    try {
      return json.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
