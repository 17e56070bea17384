package io.quarry.platform;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;

/**
 * A stream's rate-limit signals: how long a rate-limited answer waits, and the headers that slow
 * the chain down before the API refuses (a remaining budget at its floor, a usage at its ceiling).
 * All keys are optional; none set: {@code Retry-After} or 1 s, and no slowing down (today's
 * behaviour).
 *
 * @param remainingHeader header with the requests left in the window ({@code
 *     X-RateLimit-Remaining})
 * @param remainingFloor the chain waits when the remaining budget is at or below this
 * @param resetHeader header with the end of the window, epoch seconds ({@code X-RateLimit-Reset});
 *     a value below 10^9 is read as seconds from now
 * @param usageHeader header with the usage in per cent, a number or JSON ({@code x-app-usage})
 * @param usagePath JSON Pointer into a JSON usage header to the percentage ({@code /call_count});
 *     null or {@code ""}: the header is the number
 * @param usageCeiling the chain waits when the usage is at or above this percentage
 * @param defaultWait the wait when neither {@code Retry-After} nor the reset header says one (null:
 *     1 s)
 */
public record RateLimit(
    String remainingHeader,
    Integer remainingFloor,
    String resetHeader,
    String usageHeader,
    String usagePath,
    Double usageCeiling,
    Duration defaultWait) {

  /** Today's behaviour: {@code Retry-After} or 1 s, no slowing down. */
  public static final RateLimit NONE = new RateLimit(null, null, null, null, null, null, null);

  private static final long EPOCH_SECONDS_FROM = 1_000_000_000L;

  public RateLimit {
    remainingHeader = blankToNull(remainingHeader);
    resetHeader = blankToNull(resetHeader);
    usageHeader = blankToNull(usageHeader);
    usagePath = usagePath == null || usagePath.isEmpty() ? null : usagePath;
    Pagination.pointer(usagePath, "rate-limit.usage-path");
    if (remainingFloor != null && remainingFloor < 0) {
      throw new InvalidApiSettingException("rate-limit.remaining-floor", "must not be negative");
    }
    if (remainingFloor != null && remainingHeader == null) {
      throw new InvalidApiSettingException(
          "rate-limit.remaining-header", "is required by rate-limit.remaining-floor");
    }
    if (usageCeiling != null && !(usageCeiling > 0)) {
      throw new InvalidApiSettingException("rate-limit.usage-ceiling", "must be above 0");
    }
    if ((usageCeiling != null || usagePath != null) && usageHeader == null) {
      throw new InvalidApiSettingException(
          "rate-limit.usage-header", "is required by rate-limit.usage-ceiling and usage-path");
    }
    if (defaultWait != null && (defaultWait.isNegative() || defaultWait.isZero())) {
      throw new InvalidApiSettingException(
          "rate-limit.default-wait", "must be a positive duration");
    }
    remainingFloor = remainingHeader == null ? null : remainingFloor == null ? 0 : remainingFloor;
    usageCeiling = usageHeader == null ? null : usageCeiling == null ? 90.0 : usageCeiling;
  }

  /**
   * How long a rate-limited answer waits: {@code Retry-After}, else the reset header, else the
   * rule's wait, else {@link #defaultWait()}, else 1 s.
   */
  Duration waitAfterRefusal(ErrorAnswer answer, Duration ruleWait, Instant now) {
    Duration wait = RetryAfter.parseOrNull(answer.header("Retry-After"), now);
    if (wait == null) {
      wait = untilReset(answer, now);
    }
    if (wait == null) {
      wait = ruleWait;
    }
    if (wait == null) {
      wait = defaultWait;
    }
    return wait == null ? RetryAfter.DEFAULT : wait;
  }

  /**
   * The wait before the next page after a page that was served, when a signal says the budget is
   * spent (until the reset, else {@link #defaultWait()} or 1 s); null when the chain may go on at
   * once.
   */
  Duration slowDown(ErrorAnswer answer, ObjectMapper json, Instant now) {
    String reason = spent(answer, json);
    if (reason == null) {
      return null;
    }
    Duration wait = untilReset(answer, now);
    if (wait == null) {
      wait = defaultWait == null ? RetryAfter.DEFAULT : defaultWait;
    }
    return wait.isZero() ? null : wait;
  }

  /** Which signal says to wait, or null. */
  private String spent(ErrorAnswer answer, ObjectMapper json) {
    if (remainingHeader != null) {
      BigDecimal remaining = number(answer.header(remainingHeader));
      if (remaining != null && remaining.compareTo(BigDecimal.valueOf(remainingFloor)) <= 0) {
        return remainingHeader;
      }
    }
    if (usageHeader != null) {
      String value = answer.header(usageHeader);
      if (value != null && usagePath != null) {
        JsonNode root =
            ErrorAnswer.parse(value.getBytes(java.nio.charset.StandardCharsets.UTF_8), json);
        value = root == null ? null : ErrorAnswer.text(root.at(JsonPointer.compile(usagePath)));
      }
      BigDecimal usage = number(value);
      if (usage != null && usage.compareTo(BigDecimal.valueOf(usageCeiling)) >= 0) {
        return usageHeader;
      }
    }
    return null;
  }

  /** The time until the reset header's moment (zero when it passed), or null without one. */
  private Duration untilReset(ErrorAnswer answer, Instant now) {
    if (resetHeader == null) {
      return null;
    }
    BigDecimal value = number(answer.header(resetHeader));
    if (value == null || value.signum() < 0) {
      return null;
    }
    long seconds = value.setScale(0, java.math.RoundingMode.CEILING).longValue();
    if (seconds < EPOCH_SECONDS_FROM) {
      return Duration.ofSeconds(seconds);
    }
    Instant at = Instant.ofEpochSecond(seconds);
    return at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO;
  }

  private static BigDecimal number(String text) {
    if (text == null || text.isBlank() || text.length() > 30) {
      return null;
    }
    try {
      return new BigDecimal(text.trim());
    } catch (NumberFormatException notANumber) {
      return null;
    }
  }

  private static String blankToNull(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }
}
