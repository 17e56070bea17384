package io.quarry.dashboard;

import io.quarry.config.QuarryProperties;
import io.quarry.deadletter.DeadLetterRepository;
import io.quarry.maintenance.JobExecutionRepository;
import io.quarry.maintenance.MaintenanceJobs;
import io.quarry.monitoring.BrokerQueues;
import io.quarry.monitoring.Recent;
import io.quarry.scheduling.JobService;
import io.quarry.security.SecurityConfig;
import io.quarry.web.Inputs;
import java.security.Principal;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.hibernate.validator.constraints.Range;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.security.core.Authentication;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * The data behind {@code /dashboard}: who is looking, a summary the page polls every two seconds
 * (jobs, runs under way, stream runs, queues, users, dead letters), the paged history, a failure in
 * full and per-job statistics over time. One action: the retry of a failed job execution, which
 * needs the admin role and a CSRF token (SecurityConfig) like the jobs and dead-letter actions.
 */
@RestController
@RequestMapping("/api/dashboard")
public class DashboardController {

  private static final Duration SUMMARY_STALENESS = Duration.ofSeconds(1);
  private static final int TOP_USERS = 10;
  private static final int ATTENTION_USERS = 50;
  private static final Set<String> KINDS = Set.of("job", "stream");
  private static final Set<String> OUTCOMES = Set.of("running", "succeeded", "failed");
  private static final int RUNNING_SHOWN = 100;
  private static final int MAX_STATISTICS_DAYS = 90;
  private static final int MAX_HOURLY_DAYS = 14;
  private static final Map<String, Duration> BUCKETS =
      Map.of("hour", Duration.ofHours(1), "day", Duration.ofDays(1));
  private static final Logger log = LoggerFactory.getLogger(DashboardController.class);

  /** The logged-in user and whether the page should offer the admin actions. */
  public record Me(String user, boolean admin) {}

  /** Everything the page refreshes live. */
  public record Summary(
      Instant at,
      List<JobService.JobView> jobs,
      List<DashboardRepository.RunningRun> running,
      List<DashboardRepository.StreamRun> streams,
      BrokerQueues.Snapshot queues,
      List<DashboardRepository.UserChain> topUsers,
      List<DashboardRepository.UserChain> attention,
      long deadLettersOpen) {}

  private final JobService jobs;
  private final DashboardRepository dashboard;
  private final DeadLetterRepository deadLetters;
  private final BrokerQueues queues;
  private final QuarryProperties properties;
  private final JobStatistics statistics;
  private final JobExecutionRepository executions;
  private final MaintenanceJobs maintenanceJobs;
  private final Recent<Summary> summary = new Recent<>(SUMMARY_STALENESS, this::read);

  public DashboardController(
      JobService jobs,
      DashboardRepository dashboard,
      DeadLetterRepository deadLetters,
      BrokerQueues queues,
      QuarryProperties properties,
      JobStatistics statistics,
      JobExecutionRepository executions,
      MaintenanceJobs maintenanceJobs) {
    this.jobs = jobs;
    this.dashboard = dashboard;
    this.deadLetters = deadLetters;
    this.queues = queues;
    this.properties = properties;
    this.statistics = statistics;
    this.executions = executions;
    this.maintenanceJobs = maintenanceJobs;
  }

  @GetMapping("/me")
  public Me me(Authentication user) {
    boolean admin =
        user.getAuthorities().stream()
            .anyMatch(a -> a.getAuthority().equals("ROLE_" + SecurityConfig.ADMIN));
    return new Me(user.getName(), admin);
  }

  /**
   * The live part of the page. However many browsers poll it, the database and the broker's API are
   * asked at most once a second: one summary is shared while it is fresh.
   */
  @GetMapping("/summary")
  public Summary summary() {
    return summary.get();
  }

  private Summary read() {
    return new Summary(
        Instant.now(),
        jobs.list(),
        dashboard.running(RUNNING_SHOWN),
        properties.streams().keySet().stream()
            .sorted()
            .flatMap(stream -> dashboard.latestRun(stream).stream())
            .toList(),
        queues.snapshot(),
        dashboard.topUsers(TOP_USERS),
        dashboard.usersNeedingAttention(ATTENTION_USERS),
        deadLetters.openCount());
  }

  /**
   * Job executions and scheduler ticks, newest first. {@code kind} is {@code job} or {@code
   * stream}, {@code name} a job or scheduler name ({@code posts-scheduler}), {@code from} / {@code
   * to} ISO-8601 instants (years 1 to 9999), {@code before} the {@code next} cursor of the previous
   * page, {@code limit} 1 to 200. A value outside these is answered 400 with the reason.
   */
  @GetMapping("/history")
  public DashboardRepository.HistoryPage history(
      @RequestParam(required = false) String kind,
      @RequestParam(required = false) String name,
      @RequestParam(required = false) String outcome,
      @RequestParam(required = false) String from,
      @RequestParam(required = false) String to,
      @RequestParam(required = false) String before,
      @RequestParam(defaultValue = "25") @Range(min = 1, max = 200) int limit) {
    if (kind != null && !kind.isBlank() && !KINDS.contains(kind)) {
      throw badRequest("kind must be job or stream");
    }
    if (outcome != null && !outcome.isBlank() && !OUTCOMES.contains(outcome)) {
      throw badRequest("outcome must be running, succeeded or failed");
    }
    if (Inputs.hasControlCharacter(name)) {
      throw badRequest("name " + Inputs.NO_CONTROL_CHARACTERS_MESSAGE);
    }
    return dashboard.history(
        new DashboardRepository.HistoryFilter(
            blank(kind) ? null : kind,
            blank(name) ? null : name,
            blank(outcome) ? null : outcome,
            instant("from", from),
            instant("to", to),
            cursor(before)),
        limit);
  }

  /** The error and stack trace of one job execution ({@code job}) or scheduler tick. */
  @GetMapping("/history/{kind}/{id}")
  public DashboardRepository.Failure failure(@PathVariable String kind, @PathVariable String id) {
    if (!KINDS.contains(kind)) {
      throw badRequest("kind must be job or stream");
    }
    return dashboard
        .failure(kind, id)
        .orElseThrow(
            () -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no " + kind + " run " + id));
  }

  /** Job executions waiting for their event's effect and stream ticks under way, oldest first. */
  @GetMapping("/running")
  public List<DashboardRepository.RunningRun> running() {
    return dashboard.running(RUNNING_SHOWN);
  }

  /**
   * Runs, failures, success rate and duration per job and per {@code bucket} ({@code hour} or
   * {@code day}, aligned to UTC) over the last {@code days} (1 to 90; hourly at most 14), of one
   * job ({@code name}) or all.
   */
  @GetMapping("/statistics")
  public JobStatistics.Statistics statistics(
      @RequestParam(defaultValue = "7") String days,
      @RequestParam(defaultValue = "hour") String bucket,
      @RequestParam(required = false) String name) {
    int period;
    try {
      period = Integer.parseInt(days);
    } catch (NumberFormatException e) {
      throw badRequest("days must be a whole number from 1 to " + MAX_STATISTICS_DAYS);
    }
    if (period < 1 || period > MAX_STATISTICS_DAYS) {
      throw badRequest("days must be a whole number from 1 to " + MAX_STATISTICS_DAYS);
    }
    Duration size = BUCKETS.get(bucket);
    if (size == null) {
      throw badRequest("bucket must be hour or day");
    }
    if (size.equals(Duration.ofHours(1)) && period > MAX_HOURLY_DAYS) {
      throw badRequest("hourly buckets cover at most " + MAX_HOURLY_DAYS + " days; use bucket=day");
    }
    if (Inputs.hasControlCharacter(name)) {
      throw badRequest("name " + Inputs.NO_CONTROL_CHARACTERS_MESSAGE);
    }
    Map<String, String> names = new LinkedHashMap<>();
    maintenanceJobs.all().forEach(job -> names.put(job.name(), "job"));
    properties.streams().keySet().stream()
        .sorted()
        .forEach(stream -> names.put(stream + "-scheduler", "stream"));
    return statistics.read(names, Instant.now(), period, size, blank(name) ? null : name);
  }

  /** What a retry answers: the job that runs again and the execution it retries. */
  public record Retry(String job, long retryOf) {}

  /**
   * Runs a failed job execution's job again; the new run records that it retries execution {@code
   * id} and who asked (job_action and the run's own record). Only a failed run can be retried.
   */
  @PostMapping("/history/job/{id}/retry")
  @ResponseStatus(HttpStatus.ACCEPTED)
  public Retry retry(@PathVariable String id, Principal user) {
    long executionId;
    try {
      executionId = Long.parseLong(id);
    } catch (NumberFormatException e) {
      throw badRequest("id must be the number of a job execution");
    }
    JobExecutionRepository.JobExecution execution =
        executions
            .byId(executionId)
            .orElseThrow(
                () -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no job run " + id));
    if (!"failed".equals(execution.outcome())) {
      throw new ResponseStatusException(
          HttpStatus.CONFLICT,
          "job run " + id + " " + execution.outcome() + "; only a failed run can be retried");
    }
    jobs.trigger(execution.jobName(), user.getName(), executionId);
    log.info("{} retried job run {} of {}", user.getName(), executionId, execution.jobName());
    return new Retry(execution.jobName(), executionId);
  }

  @ExceptionHandler(JobService.UnknownJobException.class)
  ProblemDetail unknown(JobService.UnknownJobException e) {
    return ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, e.getMessage());
  }

  private static Instant instant(String parameter, String value) {
    if (blank(value)) {
      return null;
    }
    Instant instant;
    try {
      instant = Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw badRequest(parameter + " must be an ISO-8601 instant such as 2026-11-23T10:00:00Z");
    }
    if (!Inputs.inRange(instant)) {
      throw badRequest(parameter + " must be " + Inputs.range());
    }
    return instant;
  }

  private static DashboardRepository.Cursor cursor(String before) {
    if (blank(before)) {
      return null;
    }
    String expected = "before must be the next cursor of a previous page (<micros>~<id>)";
    if (Inputs.hasControlCharacter(before)) {
      throw badRequest("before " + Inputs.NO_CONTROL_CHARACTERS_MESSAGE);
    }
    DashboardRepository.Cursor cursor;
    try {
      cursor = DashboardRepository.Cursor.parse(before);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw badRequest(expected);
    }
    if (!Inputs.inRange(cursor.startedAt())) {
      throw badRequest("before must be a cursor of a time " + Inputs.range());
    }
    return cursor;
  }

  private static boolean blank(String value) {
    return value == null || value.isBlank();
  }

  private static ResponseStatusException badRequest(String reason) {
    return new ResponseStatusException(HttpStatus.BAD_REQUEST, reason);
  }
}
