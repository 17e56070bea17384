package io.quarry.platform;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a 2xx body into a {@link Page} through the configured JSON Pointers. Messages describe
 * where the body went wrong but never quote it (a body may echo the request, token included).
 */
final class PageReader {

  private final ObjectReader reader;
  private final JsonPointer items;
  private final JsonPointer nextMarker;
  private final JsonPointer hasMore;
  private final String idField;

  PageReader(PlatformClient.Settings settings, ObjectMapper json) {
    this.reader =
        json.readerFor(JsonNode.class).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    this.items = JsonPointer.compile(settings.itemsPath());
    this.nextMarker = JsonPointer.compile(settings.nextMarkerPath());
    this.hasMore = JsonPointer.compile(settings.hasMorePath());
    this.idField = settings.itemIdField();
  }

  Page read(byte[] body, String request) {
    JsonNode root = parse(body, request);
    List<JsonNode> list = items(root, request);
    String marker = marker(root, request);
    return new Page(list, marker, hasMore(root, marker, request), body.length);
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
      JsonNode id = array.get(i).get(idField);
      boolean usable = id != null && (id.isTextual() || id.isIntegralNumber());
      if (!usable || id.asText().isBlank()) {
        throw malformed(request, "item " + i + " has no usable '" + idField + "' field");
      }
      list.add(array.get(i));
    }
    return list;
  }

  private String marker(JsonNode root, String request) {
    JsonNode node = root.at(nextMarker);
    if (node.isMissingNode() || node.isNull()) {
      return null;
    }
    if (!node.isTextual() && !node.isNumber()) {
      throw malformed(request, "next marker at '" + nextMarker + "' is not a string or number");
    }
    return node.asText();
  }

  private boolean hasMore(JsonNode root, String marker, String request) {
    JsonNode node = root.at(hasMore);
    if (node.isMissingNode() || node.isNull()) {
      return marker != null && !marker.isEmpty();
    }
    if (!node.isBoolean()) {
      throw malformed(request, "has-more flag at '" + hasMore + "' is not a boolean");
    }
    return node.booleanValue();
  }

  private static MalformedResponseException malformed(String request, String reason) {
    return new MalformedResponseException(request + " returned a malformed page: " + reason);
  }
}
