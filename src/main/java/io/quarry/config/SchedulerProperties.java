package io.quarry.config;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;

/**
 * The clustered Quartz scheduler shared by all instances through the JDBC job store.
 *
 * @param instanceId this instance's id in the cluster; empty means the host name
 * @param threadCount worker threads; 0 means the number of processors
 * @param misfireThreshold how late a tick may fire before it counts as missed (then it fires once,
 *     never a burst of catch-ups)
 * @param clusterCheckinInterval how often an instance tells the cluster it is alive
 * @param autoStartup start firing triggers at start-up (tests trigger jobs themselves)
 * @param retention the retention job that purges old history rows
 */
public record SchedulerProperties(
    String instanceId,
    @Min(0) @Max(200) int threadCount,
    @NotNull Duration misfireThreshold,
    @NotNull Duration clusterCheckinInterval,
    boolean autoStartup,
    @NotNull @Valid RetentionProperties retention) {

  /** The configured instance id, or the host name. */
  public String effectiveInstanceId() {
    if (instanceId != null && !instanceId.isBlank()) {
      return instanceId;
    }
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return System.getenv().getOrDefault("HOSTNAME", "quarry");
    }
  }

  /** The configured thread count, or one per processor. */
  public int effectiveThreadCount() {
    return threadCount > 0 ? threadCount : Runtime.getRuntime().availableProcessors();
  }
}
