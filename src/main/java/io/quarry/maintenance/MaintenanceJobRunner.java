package io.quarry.maintenance;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarry.maintenance.JobExecutionRepository.Trigger;
import io.quarry.outbox.IntegrationEvent;
import io.quarry.outbox.OutboxRepository;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.Header;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Runs a maintenance job: writes its execution record and its integration event in one transaction
 * (the transactional outbox), so either both exist or neither. The record stays {@code running}
 * until the event's handler records what the run did (NotificationEventRoutes). A failed run is
 * then recorded on its own, with the error and stack trace, for the audit trail.
 */
@Component
public class MaintenanceJobRunner {

  /** Job data keys of a manual trigger (strings only: the job store keeps no Java objects). */
  public static final String TRIGGER_SOURCE = "quarry.triggerSource";

  public static final String TRIGGERED_BY = "quarry.triggeredBy";

  /** Job data key of a retry: the id of the execution it retries. */
  public static final String RETRY_OF = "quarry.retryOf";

  private static final Logger log = LoggerFactory.getLogger(MaintenanceJobRunner.class);

  private final MaintenanceJobs jobs;
  private final JobExecutionRepository executions;
  private final OutboxRepository outbox;
  private final TransactionTemplate transaction;
  private final Scheduler scheduler;
  private final MeterRegistry metrics;
  private final Clock clock;

  public MaintenanceJobRunner(
      MaintenanceJobs jobs,
      JobExecutionRepository executions,
      OutboxRepository outbox,
      TransactionTemplate transaction,
      Scheduler scheduler,
      MeterRegistry metrics,
      Clock clock) {
    this.jobs = jobs;
    this.executions = executions;
    this.outbox = outbox;
    this.transaction = transaction;
    this.scheduler = scheduler;
    this.metrics = metrics;
    this.clock = clock;
  }

  /**
   * Runs the named job. {@code fireTime} and {@code mergedJobDataMap} are the headers Camel's
   * quartz consumer sets; both may be absent when the worker route is called directly.
   *
   * @return the id of the execution record
   */
  public long run(
      @Header("quarryJob") String jobName,
      @Header("fireTime") Date fireTime,
      @Header("mergedJobDataMap") Map<String, Object> jobData) {
    MaintenanceJobs.Job job =
        jobs.byName(jobName)
            .orElseThrow(() -> new IllegalArgumentException("unknown job " + jobName));
    Instant started = clock.instant();
    Instant fired = fireTime != null ? fireTime.toInstant() : started;
    Trigger trigger = triggerOf(jobData);
    String instance = instanceId(scheduler);
    try {
      long id =
          transaction.execute(
              status -> {
                long executionId =
                    executions.recordQueued(job.name(), instance, fired, started, trigger);
                outbox.append(
                    event(job, executionId, fired, instance, trigger), job.properties().priority());
                return executionId;
              });
      record(job, "succeeded", started);
      log.info(
          "{} ran ({}{}), event {} queued for execution {}",
          job.name(),
          trigger.source(),
          trigger.retryOf() == null ? "" : ", retry of execution " + trigger.retryOf(),
          job.properties().eventType(),
          id);
      return id;
    } catch (RuntimeException e) {
      long id = executions.recordFailed(job.name(), instance, fired, started, trigger, e);
      record(job, "failed", started);
      log.error(
          "{} failed ({}); nothing was published: {}",
          job.name(),
          trigger.source(),
          e.getMessage(),
          e);
      return id;
    }
  }

  private IntegrationEvent event(
      MaintenanceJobs.Job job, long executionId, Instant fired, String instance, Trigger trigger) {
    Map<String, Object> payload = new LinkedHashMap<>();
    payload.put("job", job.name());
    payload.put("executionId", executionId);
    payload.put("firedAt", fired.toString());
    payload.put("instance", instance);
    payload.put("triggerSource", trigger.source());
    return IntegrationEvent.of(job.properties().eventType(), clock.instant(), payload);
  }

  /** Scheduled, run now by an admin, or an admin's retry of a failed run (Quartz's job data). */
  static Trigger triggerOf(Map<String, Object> jobData) {
    if (jobData != null && "manual".equals(jobData.get(TRIGGER_SOURCE))) {
      String user = String.valueOf(jobData.get(TRIGGERED_BY));
      Object retryOf = jobData.get(RETRY_OF);
      if (retryOf != null) {
        try {
          return Trigger.retry(user, Long.parseLong(String.valueOf(retryOf)));
        } catch (NumberFormatException e) {
          log.warn("Ignoring retry of unreadable execution id {}", retryOf);
        }
      }
      return Trigger.manual(user);
    }
    return Trigger.SCHEDULE;
  }

  /** The Quartz instance id that runs record, "unknown" if the scheduler cannot say. */
  static String instanceId(Scheduler scheduler) {
    try {
      return scheduler.getSchedulerInstanceId();
    } catch (SchedulerException e) {
      return "unknown";
    }
  }

  private void record(MaintenanceJobs.Job job, String outcome, Instant started) {
    metrics.counter("quarry.job.executions", "job", job.name(), "outcome", outcome).increment();
    Timer.builder("quarry.job.duration")
        .tag("job", job.name())
        .register(metrics)
        .record(Duration.between(started, clock.instant()));
  }
}
