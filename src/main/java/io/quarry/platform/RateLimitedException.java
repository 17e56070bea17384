package io.quarry.platform;

import java.time.Duration;
import java.util.Objects;

/**
 * The platform API answered 429: the request was fine but too early. This is neither a transient
 * error nor a permanent one; the caller waits {@link #retryAfter()} and asks again (for the miner:
 * a delayed continuation, no redelivery attempt used, nothing dead-lettered).
 */
public final class RateLimitedException extends PlatformException {

  private final Duration retryAfter;

  public RateLimitedException(Duration retryAfter) {
    this("platform API", retryAfter);
  }

  public RateLimitedException(String request, Duration retryAfter) {
    super(request + " was rate limited (429); retry after " + retryAfter.toMillis() + " ms");
    this.retryAfter = Objects.requireNonNull(retryAfter, "retryAfter");
  }

  /**
   * @param status the answer's status (429, or another an error rule reads as a rate limit)
   * @param why the error rule that decided, e.g. {@code (error-rules[0]: rate-limited)}
   */
  public RateLimitedException(String request, int status, Duration retryAfter, String why) {
    super(
        request
            + " was rate limited ("
            + status
            + why
            + "); retry after "
            + retryAfter.toMillis()
            + " ms");
    this.retryAfter = Objects.requireNonNull(retryAfter, "retryAfter");
  }

  /** How long to wait before the next request, from {@code Retry-After} (1 s if absent). */
  public Duration retryAfter() {
    return retryAfter;
  }
}
