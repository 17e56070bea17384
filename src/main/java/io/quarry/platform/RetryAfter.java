package io.quarry.platform;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** Reads a {@code Retry-After} header: delay seconds or an HTTP date (RFC 9110 §10.2.3). */
final class RetryAfter {

  static final Duration DEFAULT = Duration.ofSeconds(1);

  private RetryAfter() {}

  /** The delay the header asks for; {@link #DEFAULT} when it is missing or unreadable. */
  static Duration parse(String header, Instant now) {
    Duration wait = parseOrNull(header, now);
    return wait == null ? DEFAULT : wait;
  }

  /** The delay the header asks for; null when it is missing or unreadable. */
  static Duration parseOrNull(String header, Instant now) {
    if (header == null || header.isBlank()) {
      return null;
    }
    String value = header.trim();
    if (value.chars().allMatch(Character::isDigit)) {
      try {
        return Duration.ofSeconds(Long.parseLong(value));
      } catch (NumberFormatException tooLong) {
        return null;
      }
    }
    try {
      Instant at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      return at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
    } catch (DateTimeParseException garbage) {
      return null;
    }
  }
}
