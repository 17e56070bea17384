package io.quarry.platform;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.apache.hc.core5.http.Header;

/**
 * An answer of the platform API as error rules and rate-limit signals read it: its status, its
 * headers by name and its body as JSON, parsed at most once and only when a rule asks.
 */
final class ErrorAnswer {

  private final int status;
  private final Header[] headers;
  private final byte[] body;
  private final ObjectMapper json;
  private JsonNode root;
  private boolean parsed;

  ErrorAnswer(int status, Header[] headers, byte[] body, ObjectMapper json) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.json = json;
  }

  int status() {
    return status;
  }

  byte[] body() {
    return body;
  }

  /** The first header of this name (ignoring case), or null. */
  String header(String name) {
    for (Header header : headers) {
      if (header.getName().equalsIgnoreCase(name)) {
        return header.getValue();
      }
    }
    return null;
  }

  /** The body's value at a pointer as text (a number as written, an object as JSON), or null. */
  String bodyValue(JsonPointer pointer) {
    JsonNode node = root();
    return node == null ? null : text(node.at(pointer));
  }

  /** The body as JSON, or null when it is empty or not JSON. */
  JsonNode root() {
    if (!parsed) {
      parsed = true;
      root = parse(body, json);
    }
    return root;
  }

  static JsonNode parse(byte[] bytes, ObjectMapper json) {
    if (bytes == null || bytes.length == 0) {
      return null;
    }
    try {
      JsonNode node = json.readTree(bytes);
      return node == null || node.isMissingNode() ? null : node;
    } catch (IOException notJson) {
      return null;
    }
  }

  static String text(JsonNode node) {
    if (node == null || node.isMissingNode() || node.isNull()) {
      return null;
    }
    return node.isValueNode() ? node.asText() : node.toString();
  }
}
