package io.quarry.web;

import java.time.Instant;
import java.util.regex.Pattern;

/** Checks of text and times from a request, before they reach PostgreSQL. */
public final class Inputs {

  /**
   * For {@code @Pattern}: no control character (C0, DEL, C1). PostgreSQL refuses NUL in text
   * (SQLState 22021), and none of them belongs in a name or an id.
   */
  public static final String NO_CONTROL_CHARACTERS = "[^\\p{Cc}]*";

  /** The message that goes with {@link #NO_CONTROL_CHARACTERS}. */
  public static final String NO_CONTROL_CHARACTERS_MESSAGE =
      "must not contain control characters (such as NUL or a line break)";

  /** Earliest and latest instants a filter may name: years 1 to 9999, which timestamptz holds. */
  public static final Instant EARLIEST = Instant.parse("0001-01-01T00:00:00Z");

  public static final Instant LATEST = Instant.parse("9999-12-31T23:59:59.999999Z");

  private static final Pattern CONTROL = Pattern.compile("\\p{Cc}");

  private Inputs() {}

  public static boolean hasControlCharacter(String value) {
    return value != null && CONTROL.matcher(value).find();
  }

  public static boolean inRange(Instant instant) {
    return !instant.isBefore(EARLIEST) && !instant.isAfter(LATEST);
  }

  /** {@code between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z}. */
  public static String range() {
    return "between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z";
  }
}
