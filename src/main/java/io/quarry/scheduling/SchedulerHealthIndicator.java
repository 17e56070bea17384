package io.quarry.scheduling;

import io.quarry.maintenance.JobExecutionRepository;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;
import org.springframework.stereotype.Component;

/**
 * {@code scheduler}: DOWN unless the Quartz scheduler is started (not in standby, not shut down);
 * details show the instance, the cluster mode, the executions that failed in the last day and the
 * jobs whose configured schedule differs between live instances ({@code scheduleDisagreements}:
 * each instance's cron and time zone, and the one that applies).
 */
@Component("scheduler")
public class SchedulerHealthIndicator extends AbstractHealthIndicator {

  private final Scheduler scheduler;
  private final JobExecutionRepository executions;
  private final Clock clock;
  private final Schedules schedules;

  public SchedulerHealthIndicator(
      Scheduler scheduler, JobExecutionRepository executions, Clock clock, Schedules schedules) {
    super("Scheduler health check failed");
    this.schedules = schedules;
    this.scheduler = scheduler;
    this.executions = executions;
    this.clock = clock;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) throws SchedulerException {
    boolean running =
        scheduler.isStarted() && !scheduler.isInStandbyMode() && !scheduler.isShutdown();
    builder.status(running ? "UP" : "DOWN");
    builder.withDetail("instance", scheduler.getSchedulerInstanceId());
    builder.withDetail("clustered", scheduler.getMetaData().isJobStoreClustered());
    builder.withDetail(
        "state",
        scheduler.isShutdown() ? "shutdown" : scheduler.isInStandbyMode() ? "standby" : "started");
    List<JobExecutionRepository.JobExecution> failed =
        executions.recentFailures(clock.instant().minus(Duration.ofDays(1)), 5);
    builder.withDetail(
        "recentFailures",
        failed.stream()
            .map(
                f ->
                    java.util.Map.of(
                        "job", f.jobName(),
                        "at", String.valueOf(f.startedAt()),
                        "error", String.valueOf(f.errorMessage())))
            .toList());
    builder.withDetail(
        "scheduleDisagreements",
        schedules.disagreements().stream()
            .map(
                d ->
                    java.util.Map.of(
                        "job", d.job(), "instances", d.wanted(), "applied", d.applied()))
            .toList());
  }
}
