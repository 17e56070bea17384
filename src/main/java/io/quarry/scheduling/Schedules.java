package io.quarry.scheduling;

import io.quarry.config.JobProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.validation.TimeZoneNameValidator;
import io.quarry.maintenance.MaintenanceJobs;
import java.text.ParseException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TimeZone;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.quartz.CronExpression;
import org.quartz.CronScheduleBuilder;
import org.quartz.CronTrigger;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.Trigger;
import org.quartz.TriggerKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Which cron and time zone each scheduled job (maintenance job or stream scheduler) runs on, across
 * the cluster.
 *
 * <p>The configured cron is the desired state, a pause is the operator's: applying a new schedule
 * never resumes a paused trigger. Every instance records its configured schedule per job ({@code
 * job_schedule_config}); what applies is the most recent intent: the newest configuration among the
 * live instances (an instance whose configured cron changed since its last start), or a run-time
 * edit by an admin made after it. An instance restarting with an unchanged configuration therefore
 * leaves the cluster's schedule alone, and an edit holds until a configured cron itself changes.
 * Live instances whose configured schedules differ are reported (log, health, API), not fought
 * over.
 */
@Component
public class Schedules {

  /** A job with a schedule, as the scheduling tables name it. */
  public record ScheduledJob(
      String name, String kind, TriggerKey triggerKey, String cron, String timeZone) {

    Schedule configured(String instance) {
      return new Schedule(cron, timeZone, "config", instance, null);
    }
  }

  /** Live instances that want different schedules for one job, and what applies. */
  public record Disagreement(String job, Map<String, String> wanted, String applied) {}

  private static final Logger log = LoggerFactory.getLogger(Schedules.class);

  private final MaintenanceJobs jobs;
  private final QuarryProperties properties;
  private final ScheduleRepository repository;
  private final Scheduler scheduler;
  private final TransactionTemplate transaction;
  private final String instance;
  private final Map<String, Schedule> startup = new ConcurrentHashMap<>();

  public Schedules(
      MaintenanceJobs jobs,
      QuarryProperties properties,
      ScheduleRepository repository,
      Scheduler scheduler,
      PlatformTransactionManager transactions) {
    this.jobs = jobs;
    this.properties = properties;
    this.repository = repository;
    this.scheduler = scheduler;
    this.transaction = new TransactionTemplate(transactions);
    this.instance = properties.scheduler().effectiveInstanceId();
  }

  /** The maintenance jobs, then the stream schedulers. */
  public List<ScheduledJob> all() {
    List<ScheduledJob> all = new ArrayList<>();
    for (MaintenanceJobs.Job job : jobs.all()) {
      all.add(
          new ScheduledJob(
              job.name(),
              "maintenance",
              job.triggerKey(),
              job.properties().cron(),
              job.properties().timeZone()));
    }
    properties.streams().keySet().stream()
        .sorted()
        .forEach(
            stream ->
                all.add(
                    new ScheduledJob(
                        stream + JobService.STREAM_SUFFIX,
                        "stream",
                        TriggerKey.triggerKey(
                            stream + JobService.STREAM_SUFFIX, JobService.STREAM_GROUP),
                        properties.streams().get(stream).schedule(),
                        JobProperties.DEFAULT_TIME_ZONE)));
    return all;
  }

  /** The job of a Quartz {@code group/name}, as the clustered trigger endpoints name it. */
  public Optional<ScheduledJob> byTrigger(String groupAndName) {
    return all().stream()
        .filter(
            j -> (j.triggerKey().getGroup() + "/" + j.triggerKey().getName()).equals(groupAndName))
        .findFirst();
  }

  public Optional<ScheduledJob> byName(String name) {
    return all().stream().filter(j -> j.name().equals(name)).findFirst();
  }

  /**
   * The schedule this instance starts the job's trigger with (once per start): records this
   * instance's configured schedule, brings the stored trigger to what applies (keeping a pause) and
   * reports a disagreement. Camel's quartz endpoint is then given the same cron, so it finds
   * nothing to reschedule (it would replace the trigger and lose the pause): see
   * ClusteredSchedulePolicy.
   */
  public Schedule atStartup(String groupAndName) {
    ScheduledJob job =
        byTrigger(groupAndName)
            .orElseThrow(() -> new IllegalArgumentException("no scheduled job " + groupAndName));
    return startup.computeIfAbsent(job.name(), name -> start(job));
  }

  private Schedule start(ScheduledJob job) {
    repository.recordConfigured(job.name(), instance, normalize(job.cron()), job.timeZone());
    Schedule applies = applying(job);
    Trigger stored = quartz(() -> scheduler.getTrigger(job.triggerKey()));
    if (stored instanceof CronTrigger current && !matches(current, applies)) {
      boolean paused = reschedule(job.triggerKey(), current, applies);
      log.info(
          "{}: schedule {} -> {} ({} of {}){}",
          job.name(),
          describe(current),
          applies.describe(),
          "edit".equals(applies.source()) ? "run-time edit" : "configuration",
          applies.by(),
          paused ? ", still paused" : "");
    }
    if ("edit".equals(applies.source()) && !applies.sameAs(job.configured(instance))) {
      log.info(
          "{} keeps the schedule {} set by {} at {}; the configured {} applies once a configured"
              + " cron changes",
          job.name(),
          applies.describe(),
          applies.by(),
          applies.since(),
          job.configured(instance).describe());
    }
    disagreement(job)
        .ifPresent(
            d ->
                log.warn(
                    "Instances disagree on the schedule of {}: {}; {} applies (the newest"
                        + " configuration or run-time edit). Configure the same cron and time zone"
                        + " on every instance.",
                    d.job(),
                    d.wanted().entrySet().stream()
                        .map(e -> e.getKey() + " wants " + e.getValue())
                        .collect(Collectors.joining(", ")),
                    d.applied()));
    return applies;
  }

  /** The newest of the live instances' configurations and the run-time edit. */
  public Schedule applying(ScheduledJob job) {
    Schedule configured =
        repository.live(job.name(), instance).stream()
            .map(ScheduleRepository.Configured::schedule)
            .max(Comparator.comparing(Schedule::since))
            .orElse(job.configured(instance));
    Optional<Schedule> edit = repository.edit(job.name());
    return edit.isPresent()
            && (configured.since() == null || edit.get().since().isAfter(configured.since()))
        ? edit.get()
        : configured;
  }

  /** The live instances' configured schedules when they differ, else empty. */
  public Optional<Disagreement> disagreement(ScheduledJob job) {
    List<ScheduleRepository.Configured> live = repository.live(job.name(), instance);
    long distinct =
        live.stream()
            .map(c -> c.schedule().cron() + " " + c.schedule().timeZone())
            .distinct()
            .count();
    if (distinct < 2) {
      return Optional.empty();
    }
    Map<String, String> wanted = new java.util.LinkedHashMap<>();
    live.forEach(c -> wanted.put(c.instance(), c.schedule().describe()));
    return Optional.of(new Disagreement(job.name(), wanted, applying(job).describe()));
  }

  /** Every job the live instances disagree on. */
  public List<Disagreement> disagreements() {
    return all().stream().map(this::disagreement).flatMap(Optional::stream).toList();
  }

  /**
   * Applies an admin's schedule at run time, on the whole cluster (the trigger in the job store),
   * keeping a pause, and keeps it across restarts until a configured cron changes.
   *
   * @return the schedule before the edit, as {@code describe()} writes it
   */
  public String edit(ScheduledJob job, String cron, String timeZone, String user) {
    String normalized = validCron(cron);
    String zone = validZone(timeZone);
    Schedule edited = new Schedule(normalized, zone, "edit", user, null);
    Trigger stored = quartz(() -> scheduler.getTrigger(job.triggerKey()));
    String before =
        stored instanceof CronTrigger current ? describe(current) : applying(job).describe();
    repository.saveEdit(job.name(), normalized, zone, user);
    if (stored instanceof CronTrigger current && !matches(current, edited)) {
      reschedule(job.triggerKey(), current, edited);
    }
    log.info("{}: schedule {} -> {} edited by {}", job.name(), before, edited.describe(), user);
    return before;
  }

  /**
   * Replaces the trigger's schedule, keeping its priority, misfire instruction and job, and its
   * pause: a paused trigger is replaced and paused again in one transaction, so no instance sees it
   * unpaused (the job store takes its lock on the transaction's connection).
   *
   * @return whether the trigger was paused
   */
  private boolean reschedule(TriggerKey key, CronTrigger current, Schedule schedule) {
    Trigger replacement =
        current
            .getTriggerBuilder()
            .startNow()
            .withSchedule(
                CronScheduleBuilder.cronSchedule(schedule.cron())
                    .inTimeZone(TimeZone.getTimeZone(ZoneId.of(schedule.timeZone())))
                    .withMisfireHandlingInstructionFireAndProceed())
            .build();
    boolean paused = quartz(() -> scheduler.getTriggerState(key)) == Trigger.TriggerState.PAUSED;
    if (!paused) {
      // outside a transaction: Quartz wakes its thread at once, which then sees the new trigger
      quartz(() -> scheduler.rescheduleJob(key, replacement));
      return false;
    }
    transaction.executeWithoutResult(
        status -> {
          quartz(() -> scheduler.rescheduleJob(key, replacement));
          quartz(
              () -> {
                scheduler.pauseTrigger(key);
                return null;
              });
        });
    return true;
  }

  private static boolean matches(CronTrigger trigger, Schedule schedule) {
    return normalize(trigger.getCronExpression()).equals(normalize(schedule.cron()))
        && trigger
            .getTimeZone()
            .getID()
            .equals(TimeZone.getTimeZone(ZoneId.of(schedule.timeZone())).getID());
  }

  private static String describe(CronTrigger trigger) {
    return "'" + trigger.getCronExpression() + "' (" + trigger.getTimeZone().getID() + ")";
  }

  /** Quartz keeps a cron upper-cased; compare and store it that way. */
  static String normalize(String cron) {
    return cron.trim().replaceAll("\\s+", " ").toUpperCase(Locale.US);
  }

  /** The cron, normalized, or {@link InvalidScheduleException} naming the field. */
  static String validCron(String cron) {
    if (cron == null || cron.isBlank()) {
      throw new InvalidScheduleException("cron", "must be a Quartz cron, e.g. '0 */5 * * * ?'");
    }
    int fields = cron.trim().split("\\s+").length;
    if (fields < 6 || fields > 7) {
      throw new InvalidScheduleException(
          "cron", "has " + fields + " fields; Quartz cron needs 6 or 7 (seconds first)");
    }
    try {
      CronExpression.validateExpression(cron.trim());
    } catch (ParseException e) {
      throw new InvalidScheduleException(
          "cron", "is not a valid Quartz cron expression: " + e.getMessage());
    }
    return normalize(cron);
  }

  static String validZone(String timeZone) {
    if (timeZone == null || timeZone.isBlank()) {
      return JobProperties.DEFAULT_TIME_ZONE;
    }
    if (!TimeZoneNameValidator.isKnown(timeZone)) {
      throw new InvalidScheduleException(
          "timeZone", "'" + timeZone + "' is not a known time zone id, e.g. 'Europe/Berlin'");
    }
    return timeZone.trim();
  }

  private interface QuartzCall<T> {
    T call() throws SchedulerException;
  }

  private static <T> T quartz(QuartzCall<T> call) {
    try {
      return call.call();
    } catch (SchedulerException e) {
      throw new IllegalStateException("Quartz refused: " + e.getMessage(), e);
    }
  }

  /** A schedule edit with a bad cron or time zone; {@code field} names the request field. */
  public static class InvalidScheduleException extends RuntimeException {
    private final String field;

    public InvalidScheduleException(String field, String message) {
      super(field + " " + message);
      this.field = field;
    }

    public String field() {
      return field;
    }
  }
}
