package io.quarry.platform;

import com.fasterxml.jackson.core.JsonPointer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One entry of a stream's {@code error-rules}: what an answer must look like (status, a value in
 * the body, a header) and what it then means ({@link Action}). Every condition given must hold; the
 * constructor refuses a rule without any condition or action, naming the key relative to the rule
 * ({@link InvalidApiSettingException}).
 *
 * @param statuses status codes and ranges ({@code 400}, {@code 500-599}, {@code 4xx}); empty: any
 *     status that is not 2xx
 * @param bodyPath JSON Pointer into the (JSON) body of the answer
 * @param bodyEquals texts one of which the value at {@code bodyPath} must equal (a number as its
 *     text: {@code 4}); empty: any
 * @param bodyContains text the value at {@code bodyPath} must contain, ignoring case
 * @param header a response header the answer must carry
 * @param headerEquals texts one of which the header must equal; empty: any
 * @param headerContains text the header must contain, ignoring case
 * @param action what a matching answer means
 * @param defaultWait {@link Action#RATE_LIMITED}: the wait when neither {@code Retry-After} nor the
 *     stream's reset header says one (null: the stream's {@code rate-limit.default-wait})
 */
public record ErrorRule(
    List<String> statuses,
    String bodyPath,
    List<String> bodyEquals,
    String bodyContains,
    String header,
    List<String> headerEquals,
    String headerContains,
    Action action,
    Duration defaultWait) {

  /** What an answer that matches a rule means. */
  public enum Action {
    /** Wait ({@code Retry-After}, the reset header or the rule's wait) and ask again. */
    RATE_LIMITED,
    /** The user's token is refused: stop the chain and flag the user. */
    UNAUTHORIZED,
    /** Retry with backoff, then dead-letter. */
    TRANSIENT,
    /** Dead-letter the message. */
    PERMANENT,
    /** Skip the page: the chain goes on as after an empty page (docs/configuration.md). */
    IGNORE;

    /** {@code rate-limited}, as configuration writes it. */
    public String key() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The action a configuration value names, or null for an unknown one. */
    public static Action of(String key) {
      for (Action action : values()) {
        if (action.key().equalsIgnoreCase(key.trim())) {
          return action;
        }
      }
      return null;
    }

    static String keys() {
      List<String> keys = new ArrayList<>();
      for (Action action : values()) {
        keys.add(action.key());
      }
      return String.join(", ", keys);
    }
  }

  public ErrorRule {
    statuses = statuses == null ? List.of() : List.copyOf(statuses);
    bodyEquals = bodyEquals == null ? List.of() : List.copyOf(bodyEquals);
    headerEquals = headerEquals == null ? List.of() : List.copyOf(headerEquals);
    bodyContains = emptyToNull(bodyContains);
    headerContains = emptyToNull(headerContains);
    header = header == null || header.isBlank() ? null : header.trim();
    for (String status : statuses) {
      StatusRange.parse(status);
    }
    Pagination.pointer(bodyPath, "body-path");
    if (bodyPath == null && (!bodyEquals.isEmpty() || bodyContains != null)) {
      throw new InvalidApiSettingException(
          "body-path", "is required by body-equals and body-contains");
    }
    if (header == null && (!headerEquals.isEmpty() || headerContains != null)) {
      throw new InvalidApiSettingException(
          "header", "is required by header-equals and header-contains");
    }
    if (statuses.isEmpty() && bodyPath == null && header == null) {
      throw new InvalidApiSettingException(
          "status", "or body-path or header is required: a rule must match something");
    }
    if (action == null) {
      throw new InvalidApiSettingException("action", "is required, one of " + Action.keys());
    }
    if (defaultWait != null && (defaultWait.isNegative() || defaultWait.isZero())) {
      throw new InvalidApiSettingException("default-wait", "must be a positive duration");
    }
  }

  /** Whether a status is among the rule's; a 2xx only when the rule names it. */
  boolean matchesStatus(int status) {
    if (statuses.isEmpty()) {
      return status < 200 || status >= 300;
    }
    for (String range : statuses) {
      if (StatusRange.parse(range).contains(status)) {
        return true;
      }
    }
    return false;
  }

  /** Whether the answer's body and headers fit (the status already does). */
  boolean matches(ErrorAnswer answer) {
    if (bodyPath != null) {
      String value = answer.bodyValue(JsonPointer.compile(bodyPath));
      if (value == null || !fits(value, bodyEquals, bodyContains)) {
        return false;
      }
    }
    if (header != null) {
      String value = answer.header(header);
      return value != null && fits(value.trim(), headerEquals, headerContains);
    }
    return true;
  }

  private static boolean fits(String value, List<String> equals, String contains) {
    if (!equals.isEmpty() && equals.stream().noneMatch(e -> e.trim().equals(value))) {
      return false;
    }
    return contains == null
        || value.toLowerCase(Locale.ROOT).contains(contains.toLowerCase(Locale.ROOT));
  }

  private static String emptyToNull(String text) {
    return text == null || text.isEmpty() ? null : text;
  }

  /** {@code 400}, {@code 500-599} or {@code 5xx}. */
  record StatusRange(int from, int to) {

    static StatusRange parse(String text) {
      String value = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
      try {
        StatusRange range;
        if (value.matches("[1-5]xx")) {
          int hundred = (value.charAt(0) - '0') * 100;
          range = new StatusRange(hundred, hundred + 99);
        } else if (value.matches("\\d{3}-\\d{3}")) {
          range =
              new StatusRange(
                  Integer.parseInt(value.substring(0, 3)), Integer.parseInt(value.substring(4)));
        } else if (value.matches("\\d{3}")) {
          int status = Integer.parseInt(value);
          range = new StatusRange(status, status);
        } else {
          range = null;
        }
        if (range != null && range.from >= 100 && range.to <= 599 && range.from <= range.to) {
          return range;
        }
      } catch (NumberFormatException e) {
        // refused below
      }
      throw new InvalidApiSettingException(
          "status", "'" + text + "' is not a status (400), a range (500-599) or a class (4xx)");
    }

    boolean contains(int status) {
      return status >= from && status <= to;
    }
  }
}
