package io.quarry.scheduling;

import io.quarry.config.QuarryProperties;
import io.quarry.flow.FlowEndpoints;
import io.quarry.maintenance.JobExecutionRepository;
import io.quarry.maintenance.MaintenanceJobRunner;
import io.quarry.maintenance.MaintenanceJobs;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.camel.ProducerTemplate;
import org.quartz.CronTrigger;
import org.quartz.JobDataMap;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.Trigger;
import org.quartz.TriggerKey;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * What an operator can see and do with the scheduled work, the maintenance jobs ({@code kind}
 * maintenance) and the stream schedulers ({@code kind} stream, named {@code <stream>-scheduler}):
 * their schedule and state, run one now, pause and resume. Pausing acts on the cluster's job store,
 * so it holds on every instance. Every action is recorded with who did it in {@code job_action}.
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
      Instant lastRunAt,
      String kind,
      String timeZone,
      String configuredCron,
      String configuredTimeZone,
      String scheduleSource,
      String scheduleSetBy,
      Map<String, String> scheduleDisagreement) {}

  /** A schedule an admin sets at run time ({@code PUT /api/jobs/{name}/schedule}). */
  public record ScheduleEdit(String cron, String timeZone) {}

  /**
   * Quartz group of the stream schedulers' triggers ({@code quartz://mining/<stream>-scheduler}).
   */
  public static final String STREAM_GROUP = "mining";

  static final String STREAM_SUFFIX = "-scheduler";

  private final MaintenanceJobs jobs;
  private final Scheduler scheduler;
  private final JobExecutionRepository executions;
  private final QuarryProperties properties;
  private final ProducerTemplate camel;
  private final JdbcClient jdbc;
  private final TransactionTemplate transaction;
  private final Schedules schedules;
  private final ScheduleRepository scheduleRepository;

  public JobService(
      MaintenanceJobs jobs,
      Scheduler scheduler,
      JobExecutionRepository executions,
      QuarryProperties properties,
      ProducerTemplate camel,
      JdbcClient jdbc,
      PlatformTransactionManager transactions,
      Schedules schedules,
      ScheduleRepository scheduleRepository) {
    this.schedules = schedules;
    this.scheduleRepository = scheduleRepository;
    this.jobs = jobs;
    this.scheduler = scheduler;
    this.executions = executions;
    this.properties = properties;
    this.camel = camel;
    this.jdbc = jdbc;
    this.transaction = new TransactionTemplate(transactions);
  }

  /** The maintenance jobs, then the stream schedulers. */
  public List<JobView> list() {
    List<JobView> views = new ArrayList<>();
    jobs.all().forEach(job -> views.add(view(job)));
    properties.streams().keySet().stream().sorted().forEach(s -> views.add(streamView(s)));
    return views;
  }

  public JobView get(String name) {
    Optional<String> stream = stream(name);
    return stream.isPresent() ? streamView(stream.get()) : view(job(name));
  }

  /**
   * Runs the job now; the run records {@code user}. A maintenance job fires through Quartz on
   * whichever instance picks it up; a stream scheduler ticks at once on this instance (its overlap
   * guard skips users whose chains are still running).
   */
  public void trigger(String name, String user) {
    Optional<String> stream = stream(name);
    if (stream.isPresent()) {
      camel.asyncRequestBodyAndHeader(
          FlowEndpoints.schedulerWorker(stream.get()), null, FlowEndpoints.TRIGGERED_BY, user);
      executions.recordAction(stream.get() + STREAM_SUFFIX, "trigger", user);
      return;
    }
    fire(job(name), user, Map.of());
  }

  public void pause(String name, String user) {
    Optional<String> stream = stream(name);
    if (stream.isPresent()) {
      locked(() -> scheduler.pauseTrigger(streamTrigger(stream.get())));
      executions.recordAction(stream.get() + STREAM_SUFFIX, "pause", user);
      return;
    }
    MaintenanceJobs.Job job = job(name);
    locked(() -> scheduler.pauseJob(job.jobKey()));
    executions.recordAction(job.name(), "pause", user);
  }

  public void resume(String name, String user) {
    Optional<String> stream = stream(name);
    if (stream.isPresent()) {
      quartz(() -> scheduler.resumeTrigger(streamTrigger(stream.get())));
      executions.recordAction(stream.get() + STREAM_SUFFIX, "resume", user);
      return;
    }
    MaintenanceJobs.Job job = job(name);
    quartz(() -> scheduler.resumeJob(job.jobKey()));
    executions.recordAction(job.name(), "resume", user);
  }

  /**
   * Sets the job's cron and time zone at run time for the whole cluster, keeping a pause; audited
   * with the old and the new schedule. It holds across restarts until a configured cron changes.
   *
   * @throws Schedules.InvalidScheduleException naming the field that is wrong
   */
  public void editSchedule(String name, ScheduleEdit edit, String user) {
    String job = get(name).name();
    Schedules.ScheduledJob scheduled =
        schedules.byName(job).orElseThrow(() -> new UnknownJobException(name));
    String cron = edit == null ? null : edit.cron();
    String zone = edit == null ? null : edit.timeZone();
    String before = schedules.edit(scheduled, cron, zone, user);
    String after = schedules.applying(scheduled).describe();
    scheduleRepository.recordAction(job, "edit-schedule", user, before + " -> " + after);
  }

  private JobView view(MaintenanceJobs.Job job) {
    var last = executions.latest(job.name());
    return view(
        "maintenance",
        job.name(),
        job.triggerKey(),
        job.properties().cron(),
        job.properties().priority(),
        job.properties().eventType(),
        last.map(JobExecutionRepository.JobExecution::outcome).orElse(null),
        last.map(JobExecutionRepository.JobExecution::startedAt).orElse(null));
  }

  private JobView streamView(String stream) {
    record LastRun(String outcome, Instant startedAt) {}
    Optional<LastRun> last =
        jdbc.sql(
                "select outcome, started_at from scheduler_run where stream = :stream"
                    + " order by started_at desc limit 1")
            .param("stream", stream)
            .query((rs, n) -> new LastRun(rs.getString(1), rs.getTimestamp(2).toInstant()))
            .optional();
    return view(
        "stream",
        stream + STREAM_SUFFIX,
        streamTrigger(stream),
        properties.streams().get(stream).schedule(),
        Trigger.DEFAULT_PRIORITY,
        null,
        last.map(LastRun::outcome).orElse(null),
        last.map(LastRun::startedAt).orElse(null));
  }

  /** The trigger as Quartz has it; the configured cron and priority until it is scheduled. */
  private JobView view(
      String kind,
      String name,
      TriggerKey key,
      String configuredCron,
      int configuredPriority,
      String eventType,
      String lastOutcome,
      Instant lastRunAt) {
    Trigger trigger = quartz(() -> scheduler.getTrigger(key));
    String state = quartz(() -> scheduler.getTriggerState(key).name());
    Optional<Schedules.ScheduledJob> scheduled = schedules.byName(name);
    Schedule applying = scheduled.map(schedules::applying).orElse(null);
    return new JobView(
        name,
        trigger instanceof CronTrigger cron ? cron.getCronExpression() : configuredCron,
        trigger != null ? trigger.getPriority() : configuredPriority,
        eventType,
        state,
        trigger != null && trigger.getNextFireTime() != null
            ? trigger.getNextFireTime().toInstant()
            : null,
        trigger != null && trigger.getPreviousFireTime() != null
            ? trigger.getPreviousFireTime().toInstant()
            : null,
        lastOutcome,
        lastRunAt,
        kind,
        trigger instanceof CronTrigger cron
            ? cron.getTimeZone().getID()
            : scheduled.map(Schedules.ScheduledJob::timeZone).orElse(null),
        configuredCron,
        scheduled.map(Schedules.ScheduledJob::timeZone).orElse(null),
        applying != null ? applying.source() : "config",
        applying != null && "edit".equals(applying.source()) ? applying.by() : null,
        scheduled
            .flatMap(schedules::disagreement)
            .map(Schedules.Disagreement::wanted)
            .orElse(null));
  }

  /** {@code posts-scheduler} (or {@code posts}) names the scheduler of the stream posts. */
  private Optional<String> stream(String name) {
    String stream = name.endsWith(STREAM_SUFFIX) ? name.substring(0, name.length() - 10) : name;
    return properties.streams().containsKey(stream) ? Optional.of(stream) : Optional.empty();
  }

  private static TriggerKey streamTrigger(String stream) {
    return TriggerKey.triggerKey(stream + STREAM_SUFFIX, STREAM_GROUP);
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

  /**
   * Runs a Quartz change in a Spring transaction. Quartz's job store here takes its cluster lock (a
   * row of {@code qrtz_locks}, {@code SELECT ... FOR UPDATE}) on the caller's connection, which
   * outside a transaction is in autocommit and lets go of the lock at once: a pause could then
   * interleave with a trigger being fired and be overwritten by it (seen as a pause that left the
   * trigger NORMAL). In a transaction the lock is held until the change is committed.
   *
   * <p>Only for pausing: Quartz wakes its scheduler thread as soon as a trigger is stored or
   * resumed, before the surrounding transaction commits, so a resumed or manually fired trigger
   * would wait for the thread's next idle poll (up to 30 s) instead of firing now.
   */
  private void locked(QuartzAction action) {
    transaction.executeWithoutResult(status -> quartz(action));
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

  /**
   * Runs a maintenance job now as the retry of its execution {@code retryOf}: the same path as
   * {@link #trigger(String, String)}, and the new run records the execution it retries.
   */
  public void trigger(String name, String user, long retryOf) {
    fire(job(name), user, Map.of(MaintenanceJobRunner.RETRY_OF, String.valueOf(retryOf)));
  }

  /** Fires a maintenance job through Quartz as a manual run of {@code user}, audited. */
  private void fire(MaintenanceJobs.Job job, String user, Map<String, String> more) {
    JobDataMap data = new JobDataMap(more);
    data.put(MaintenanceJobRunner.TRIGGER_SOURCE, "manual");
    data.put(MaintenanceJobRunner.TRIGGERED_BY, user);
    quartz(() -> scheduler.triggerJob(job.jobKey(), data));
    executions.recordAction(job.name(), "trigger", user);
  }
}
