package io.quarry.mining;

import io.quarry.bus.Topology;
import java.time.Duration;

/** Picks the delay queue for a wait: the shortest tier that is at least as long. */
public final class DelayTiers {

  private DelayTiers() {}

  public static long atLeast(Duration wait) {
    for (long seconds : Topology.DELAY_SECONDS) {
      if (seconds * 1000 >= wait.toMillis()) {
        return seconds;
      }
    }
    return Topology.DELAY_SECONDS.get(Topology.DELAY_SECONDS.size() - 1);
  }
}
