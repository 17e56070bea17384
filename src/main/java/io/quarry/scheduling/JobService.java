package io.quarry.scheduling;

import io.quarry.maintenance.JobExecutionRepository;
import io.quarry.maintenance.MaintenanceJobRunner;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.quartz.CronTrigger;
import org.quartz.JobDataMap;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.Trigger;
import org.springframework.stereotype.Service;

/**
 * What an operator can see and do with the maintenance jobs: their schedule and state, run one now,
 * pause and resume. Pausing acts on the cluster's job store, so it holds on every instance. Every
 * action is recorded with who did it.
 */
@Service
public class JobService {

  /** A job as the API and the dashboard show it. */
  public record JobView(
      String name,
      String cron,
      int priority,
      String eventType,
      String state,
      Instant nextFireTime,
      Instant previousFireTime,
      String lastOutcome,
      Instant lastRunAt) {}

  private final MaintenanceJobs jobs;
  private final Scheduler scheduler;
  private final JobExecutionRepository executions;

  public JobService(MaintenanceJobs jobs, Scheduler scheduler, JobExecutionRepository executions) {
    this.jobs = jobs;
    this.scheduler = scheduler;
    this.executions = executions;
  }

  public List<JobView> list() {
    return jobs.all().stream().map(this::view).toList();
  }

  public JobView get(String name) {
    return view(job(name));
  }

  /** Fires the job now on whichever instance picks it up; the run records {@code user}. */
  public void trigger(String name, String user) {
    MaintenanceJobs.Job job = job(name);
    JobDataMap data =
        new JobDataMap(
            Map.of(
                MaintenanceJobRunner.TRIGGER_SOURCE,
                "manual",
                MaintenanceJobRunner.TRIGGERED_BY,
                user));
    quartz(() -> scheduler.triggerJob(job.jobKey(), data));
    executions.recordAction(job.name(), "trigger", user);
  }

  public void pause(String name, String user) {
    MaintenanceJobs.Job job = job(name);
    quartz(() -> scheduler.pauseJob(job.jobKey()));
    executions.recordAction(job.name(), "pause", user);
  }

  public void resume(String name, String user) {
    MaintenanceJobs.Job job = job(name);
    quartz(() -> scheduler.resumeJob(job.jobKey()));
    executions.recordAction(job.name(), "resume", user);
  }

  private JobView view(MaintenanceJobs.Job job) {
    Trigger trigger = quartz(() -> scheduler.getTrigger(job.triggerKey()));
    String state = quartz(() -> scheduler.getTriggerState(job.triggerKey()).name());
    var last = executions.latest(job.name());
    return new JobView(
        job.name(),
        trigger instanceof CronTrigger cron ? cron.getCronExpression() : job.properties().cron(),
        trigger != null ? trigger.getPriority() : job.properties().priority(),
        job.properties().eventType(),
        state,
        trigger != null && trigger.getNextFireTime() != null
            ? trigger.getNextFireTime().toInstant()
            : null,
        trigger != null && trigger.getPreviousFireTime() != null
            ? trigger.getPreviousFireTime().toInstant()
            : null,
        last.map(JobExecutionRepository.JobExecution::outcome).orElse(null),
        last.map(JobExecutionRepository.JobExecution::startedAt).orElse(null));
  }

  private MaintenanceJobs.Job job(String name) {
    return jobs.byName(name).orElseThrow(() -> new UnknownJobException(name));
  }

  private interface QuartzCall<T> {
    T call() throws SchedulerException;
  }

  private interface QuartzAction {
    void call() throws SchedulerException;
  }

  private static <T> T quartz(QuartzCall<T> call) {
    try {
      return call.call();
    } catch (SchedulerException e) {
      throw new IllegalStateException("Quartz refused: " + e.getMessage(), e);
    }
  }

  private static void quartz(QuartzAction action) {
    quartz(
        () -> {
          action.call();
          return null;
        });
  }

  /** No job of that name is configured. */
  public static class UnknownJobException extends RuntimeException {
    public UnknownJobException(String name) {
      super("no job named " + name);
    }
  }
}
