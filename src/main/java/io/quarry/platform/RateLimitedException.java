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

  /** How long to wait before the next request, from {@code Retry-After} (1 s if absent). */
  public Duration retryAfter() {
    return retryAfter;
  }
}
