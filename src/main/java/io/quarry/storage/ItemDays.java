package io.quarry.storage;

import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * The day (UTC) an item belongs to, from its {@code createdAt} (ISO-8601 with offset). Every stored
 * and counted item goes through here (once per subscriber that reads it), so the common form, a UTC
 * instant such as {@code 2025-03-01T12:00:00Z} or {@code 2025-03-01T12:00:00.123Z}, is read
 * directly; any other form goes through {@link OffsetDateTime#parse}, with the same result.
 */
public final class ItemDays {

  private ItemDays() {}

  /** The UTC day of an ISO-8601 date-time with offset, or null when the text is not one. */
  public static LocalDate parse(String text) {
    if (text == null) {
      return null;
    }
    LocalDate fast = utcInstantDay(text);
    if (fast != null) {
      return fast;
    }
    try {
      return OffsetDateTime.parse(text).withOffsetSameInstant(ZoneOffset.UTC).toLocalDate();
    } catch (DateTimeException e) {
      return null;
    }
  }

  /**
   * {@code yyyy-MM-ddTHH:mm[:ss[.f{1,9}]]Z} with valid fields: its date; anything else (another
   * offset, a year beyond 9999, a leap second...) null, left to the full parser.
   */
  private static LocalDate utcInstantDay(String s) {
    int n = s.length();
    if (n < 17 || n > 30 || s.charAt(n - 1) != 'Z') {
      return null;
    }
    if (s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T' || s.charAt(13) != ':') {
      return null;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 2);
    int day = digits(s, 8, 2);
    int hour = digits(s, 11, 2);
    int minute = digits(s, 14, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) {
      return null;
    }
    if (minute < 0 || minute > 59) {
      return null;
    }
    int end = n - 1; // before the Z
    int i = 16;
    if (i < end) {
      if (s.charAt(i) != ':'
          || end - i < 3
          || digits(s, i + 1, 2) < 0
          || digits(s, i + 1, 2) > 59) {
        return null;
      }
      i += 3;
      if (i < end) {
        int fraction = end - i - 1;
        if (s.charAt(i) != '.' || fraction < 1 || fraction > 9 || digits(s, i + 1, fraction) < 0) {
          return null;
        }
      }
    }
    if (day > LocalDate.of(year, month, 1).lengthOfMonth()) {
      return null;
    }
    return LocalDate.of(year, month, day);
  }

  /** The decimal number of {@code count} ASCII digits at {@code from}, or -1. */
  private static int digits(String s, int from, int count) {
    int value = 0;
    for (int i = from; i < from + count; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }
}
