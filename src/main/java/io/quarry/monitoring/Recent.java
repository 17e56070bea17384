package io.quarry.monitoring;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * A value read at most once per {@code maxAge} however often it is asked for: gauges scraped by
 * several Prometheus servers and dashboards polled by many browsers cost one read per period. The
 * first caller after expiry reads; callers meanwhile get the value it reads.
 */
public final class Recent<T> {

  private final Supplier<T> read;
  private final long maxAgeNanos;
  private T value;
  private long readAt;
  private boolean present;

  public Recent(Duration maxAge, Supplier<T> read) {
    this.read = read;
    this.maxAgeNanos = maxAge.toNanos();
  }

  public synchronized T get() {
    long now = System.nanoTime();
    if (!present || now - readAt > maxAgeNanos) {
      value = read.get();
      readAt = now;
      present = true;
    }
    return value;
  }
}
