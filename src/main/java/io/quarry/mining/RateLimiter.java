package io.quarry.mining;

import java.util.concurrent.locks.LockSupport;

/**
 * Spaces calls evenly to at most {@code perSecond} per second across the threads that share it (0 =
 * no limit). Callers wait for their slot; nobody is refused.
 */
public final class RateLimiter {

  private final long intervalNanos;
  private long nextSlot = System.nanoTime();

  public RateLimiter(int perSecond) {
    this.intervalNanos = perSecond <= 0 ? 0 : 1_000_000_000L / perSecond;
  }

  public void acquire() {
    if (intervalNanos == 0) {
      return;
    }
    long slot;
    synchronized (this) {
      long now = System.nanoTime();
      slot = Math.max(nextSlot, now);
      nextSlot = slot + intervalNanos;
    }
    long wait;
    while ((wait = slot - System.nanoTime()) > 0) {
      LockSupport.parkNanos(wait);
    }
  }
}
