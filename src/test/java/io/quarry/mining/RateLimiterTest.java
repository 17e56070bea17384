package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The per-stream limit spaces calls out, whichever threads make them. */
class RateLimiterTest {

  @Test
  void twentyPerSecondSpacesElevenCallsOverHalfASecondAcrossThreads() {
    RateLimiter limiter = new RateLimiter(20);
    long start = System.nanoTime();
    CompletableFuture<?>[] calls = new CompletableFuture<?>[11];
    for (int i = 0; i < calls.length; i++) {
      calls[i] = CompletableFuture.runAsync(limiter::acquire);
    }
    CompletableFuture.allOf(calls).join();
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(490));
  }

  @Test
  void zeroMeansNoLimit() {
    RateLimiter limiter = new RateLimiter(0);
    long start = System.nanoTime();
    for (int i = 0; i < 1_000; i++) {
      limiter.acquire();
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(500));
  }
}
