package io.quarry.platform;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a 2xx answer into a {@link Page} through one stream's {@link StreamApi}: the items and the
 * position of the next page in the stream's pagination style. Messages describe where the body went
 * wrong but never quote it (a body may echo the request, token included).
 */
final class PageReader {

  private final ObjectReader reader;
  private final Pagination paging;
  private final NextUrls urls;
  private final JsonPointer items;
  private final JsonPointer itemId;
  private final JsonPointer cursor;
  private final JsonPointer hasMore;
  private final JsonPointer nextUrl;
  private final JsonPointer cursorField;
  private final JsonPointer total;

  PageReader(StreamApi api, NextUrls urls, ObjectMapper json) {
    this.reader =
        json.readerFor(JsonNode.class).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    this.paging = api.pagination();
    this.urls = urls;
    this.items = JsonPointer.compile(api.itemsPath());
    this.itemId = JsonPointer.compile(api.itemIdPath());
    this.cursor = compile(paging.cursorPath());
    this.hasMore = compile(paging.hasMorePath());
    this.nextUrl = compile(paging.nextUrlPath());
    this.cursorField = compile(paging.cursorField());
    this.total = compile(paging.totalPath());
  }

  /**
   * @param link the {@code Link} header of the answer, or null
   * @param limit the page size asked for: a shorter page is the last one (offset, page number)
   * @param position the position this page was asked at (null: the first page)
   */
  Page read(byte[] body, String link, String request, int limit, String position) {
    JsonNode root = parse(body, request);
    List<JsonNode> list = items(root, request);
    return switch (paging.style()) {
      case CURSOR -> {
        String marker = text(root.at(cursor), "next marker at '" + cursor + "'", request);
        yield new Page(list, marker, hasMore(root, marker != null, request), body.length);
      }
      case NEXT_URL -> {
        String next = text(root.at(nextUrl), "next URL at '" + nextUrl + "'", request);
        yield followed(list, next, "next URL at '" + nextUrl + "'", request, body.length);
      }
      case LINK_HEADER ->
          followed(list, LinkHeader.next(link), "Link header's next URL", request, body.length);
      case LAST_ITEM -> {
        String marker =
            list.isEmpty()
                ? null
                : text(
                    list.get(list.size() - 1).at(cursorField),
                    "last item's cursor field at '" + cursorField + "'",
                    request);
        if (!list.isEmpty() && marker == null) {
          throw malformed(request, "last item has no cursor field at '" + cursorField + "'");
        }
        boolean more = marker != null && hasMore(root, list.size() >= limit, request);
        yield new Page(list, marker, more, body.length);
      }
      case OFFSET -> {
        long offset = number(position, 0, "an offset");
        long next = offset + list.size();
        Long all = total(root, request);
        boolean more = full(list, limit) && (all == null || next < all);
        yield new Page(list, Long.toString(next), more, body.length);
      }
      case PAGE_NUMBER -> {
        long page = number(position, paging.firstPage(), "a page number");
        long read = (page - paging.firstPage() + 1) * (long) limit;
        Long all = total(root, request);
        boolean more = full(list, limit) && (all == null || read < all);
        yield new Page(list, Long.toString(page + 1), more, body.length);
      }
    };
  }

  /**
   * The page an {@code ignore} error rule skips: no items, and the position after it when one is
   * known: the next offset or page number, or the cursor or next URL the (error) body or {@code
   * Link} header gives at the stream's settings. Without one the page is the last (the chain ends
   * {@code end_of_data}): asking for the same position again would only repeat the error.
   */
  Page skipped(byte[] body, String link, int limit, String position) {
    JsonNode root;
    try {
      root = body.length == 0 ? null : reader.readValue(body);
    } catch (IOException notJson) {
      root = null;
    }
    String next =
        switch (paging.style()) {
          case CURSOR -> root == null ? null : lenientText(root.at(cursor));
          case NEXT_URL -> root == null ? null : resolvedOrNull(lenientText(root.at(nextUrl)));
          case LINK_HEADER -> resolvedOrNull(LinkHeader.next(link));
          case LAST_ITEM -> null;
          case OFFSET -> Long.toString(number(position, 0, "an offset") + limit);
          case PAGE_NUMBER ->
              Long.toString(number(position, paging.firstPage(), "a page number") + 1);
        };
    return new Page(List.of(), next, next != null, body.length);
  }

  private static String lenientText(JsonNode node) {
    return node != null && (node.isTextual() || node.isNumber()) ? node.asText() : null;
  }

  private String resolvedOrNull(String url) {
    if (url == null || url.isEmpty()) {
      return null;
    }
    try {
      return urls.resolve(url).toString();
    } catch (IllegalArgumentException elsewhere) {
      return null;
    }
  }

  /** The position of an offset or page number, as the previous page computed it. */
  static long number(String position, long first, String what) {
    if (position == null) {
      return first;
    }
    try {
      long value = Long.parseLong(position);
      if (value >= 0) {
        return value;
      }
    } catch (NumberFormatException notANumber) {
      // refused below
    }
    throw new MalformedResponseException(
        "the chain's position is not " + what + " (was the stream's pagination style changed?)");
  }

  private static boolean full(List<JsonNode> list, int limit) {
    return !list.isEmpty() && list.size() >= limit;
  }

  private Page followed(List<JsonNode> list, String next, String what, String request, int bytes) {
    if (next == null) {
      return new Page(list, null, false, bytes);
    }
    URI url;
    try {
      url = urls.resolve(next);
    } catch (IllegalArgumentException e) {
      throw malformed(request, what + " " + e.getMessage());
    }
    return new Page(list, url.toString(), true, bytes);
  }

  private JsonNode parse(byte[] body, String request) {
    JsonNode root;
    try {
      root = reader.readValue(body);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where =
          at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw malformed(request, "body is not valid JSON" + where);
    } catch (IOException e) {
      throw malformed(request, "body is not valid JSON");
    }
    if (root == null || root.isMissingNode()) {
      throw malformed(request, "body is empty");
    }
    return root;
  }

  private List<JsonNode> items(JsonNode root, String request) {
    JsonNode array = root.at(items);
    if (!array.isArray()) {
      throw malformed(request, "no items array at '" + items + "'");
    }
    List<JsonNode> list = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      JsonNode id = array.get(i).at(itemId);
      boolean usable = id != null && (id.isTextual() || id.isIntegralNumber());
      if (!usable || id.asText().isBlank()) {
        throw malformed(request, "item " + i + " has no usable " + idName());
      }
      list.add(array.get(i));
    }
    return list;
  }

  /** {@code 'id' field} for a top-level field (today's wording), else {@code id at '/a/b'}. */
  private String idName() {
    return itemId.tail() != null && itemId.tail().matches()
        ? "'" + itemId.getMatchingProperty() + "' field"
        : "id at '" + itemId + "'";
  }

  private static String text(JsonNode node, String what, String request) {
    if (node.isMissingNode() || node.isNull()) {
      return null;
    }
    if (!node.isTextual() && !node.isNumber()) {
      throw malformed(request, what + " is not a string or number");
    }
    String text = node.asText();
    return text.isEmpty() ? null : text;
  }

  private boolean hasMore(JsonNode root, boolean otherwise, String request) {
    if (hasMore == null) {
      return otherwise;
    }
    JsonNode node = root.at(hasMore);
    if (node.isMissingNode() || node.isNull()) {
      return otherwise;
    }
    if (!node.isBoolean()) {
      throw malformed(request, "has-more flag at '" + hasMore + "' is not a boolean");
    }
    return node.booleanValue();
  }

  private Long total(JsonNode root, String request) {
    if (total == null) {
      return null;
    }
    JsonNode node = root.at(total);
    if (node.isMissingNode() || node.isNull()) {
      return null;
    }
    if (node.isIntegralNumber() || (node.isTextual() && node.asText().matches("\\d{1,18}"))) {
      return node.asLong();
    }
    throw malformed(request, "total at '" + total + "' is not a whole number");
  }

  private static JsonPointer compile(String pointer) {
    return pointer == null ? null : JsonPointer.compile(pointer);
  }

  static MalformedResponseException malformed(String request, String reason) {
    return new MalformedResponseException(request + " returned a malformed page: " + reason);
  }
}
