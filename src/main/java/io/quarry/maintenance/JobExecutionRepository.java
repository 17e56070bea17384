package io.quarry.maintenance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The audit trail of job executions and operator actions. */
@Repository
public class JobExecutionRepository {

  /** One recorded execution. */
  public record JobExecution(
      long id,
      String jobName,
      String instanceId,
      Instant firedAt,
      Instant startedAt,
      Instant finishedAt,
      String outcome,
      String errorMessage,
      String triggerSource,
      String triggeredBy) {}

  /**
   * Who ran it and why; {@code retryOf} is the execution an admin retried with this run, or null.
   */
  public record Trigger(String source, String triggeredBy, Long retryOf) {
    public static final Trigger SCHEDULE = new Trigger("schedule", null, null);

    public static Trigger manual(String user) {
      return new Trigger("manual", user, null);
    }

    public static Trigger retry(String user, long retryOf) {
      return new Trigger("manual", user, retryOf);
    }
  }

  private final JdbcClient jdbc;

  public JobExecutionRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * Records a run whose event is queued: it stays {@code running} until the event's handler records
   * what it did ({@link #recordEffect}).
   */
  public long recordQueued(
      String job, String instance, Instant firedAt, Instant startedAt, Trigger trigger) {
    return insert(job, instance, firedAt, startedAt, trigger, "running", null, null);
  }

  /** How the error of a run whose event was parked as a dead letter begins. */
  public static final String EVENT_PARKED = "its event was parked as a dead letter";

  /**
   * Closes a running execution with what its event's handler did, e.g. {@code 2,503 mails deleted};
   * also one failed because its event was parked, when the event is replayed and handled. False
   * when there is no such execution (unknown id, or already closed: a redelivered event does not
   * overwrite the first account).
   */
  public boolean recordEffect(long executionId, long count, String what) {
    String effect = effect(count, what);
    return jdbc.sql(
                """
                update job_execution set outcome = 'succeeded', finished_at = now(),
                       effect_count = :count, effect = :effect, error_message = null
                 where id = :id
                   and (outcome = 'running'
                        or (outcome = 'failed' and error_message like cast(:parked as text) || '%'))
                """)
            .param("parked", EVENT_PARKED)
            .param("id", executionId)
            .param("count", count)
            .param("effect", effect)
            .update()
        == 1;
  }

  /**
   * Fails the running execution whose integration event (its JSON, {@code payload.executionId}) was
   * parked as a dead letter: no handler will record its effect, and "running" would stay forever.
   * False for a letter that names no running execution, or is no readable event.
   */
  public boolean failForParkedEvent(byte[] event, String reason, long deadLetterId) {
    long executionId;
    try {
      JsonNode id = EVENTS.readTree(event).path("payload").path("executionId");
      if (!(id.isIntegralNumber() && id.canConvertToLong())
          && !(id.isTextual() && id.asText().matches("[0-9]{1,18}"))) {
        return false;
      }
      executionId = id.asLong();
    } catch (IOException | RuntimeException unreadable) {
      return false;
    }
    return jdbc.sql(
                """
                update job_execution set outcome = 'failed', finished_at = now(), error_message = :error
                 where id = :id and outcome = 'running'
                """)
            .param("id", executionId)
            .param("error", EVENT_PARKED + " (#" + deadLetterId + "): " + reason)
            .update()
        == 1;
  }

  private static final ObjectMapper EVENTS = new ObjectMapper();

  /**
   * {@code 2,503 mails deleted} from 2503 and {@code mail(s) deleted}; {@code (s)} is dropped for
   * one.
   */
  public static String effect(long count, String what) {
    return String.format(java.util.Locale.ROOT, "%,d ", count)
        + what.replace("(s)", count == 1 ? "" : "s");
  }

  public long recordFailed(
      String job,
      String instance,
      Instant firedAt,
      Instant startedAt,
      Trigger trigger,
      Throwable error) {
    java.io.StringWriter trace = new java.io.StringWriter();
    error.printStackTrace(new java.io.PrintWriter(trace));
    return insert(
        job,
        instance,
        firedAt,
        startedAt,
        trigger,
        "failed",
        String.valueOf(error.getMessage()),
        trace.toString());
  }

  private long insert(
      String job,
      String instance,
      Instant firedAt,
      Instant startedAt,
      Trigger trigger,
      String outcome,
      String error,
      String stackTrace) {
    return jdbc.sql(
            """
            insert into job_execution (job_name, instance_id, fired_at, started_at, finished_at,
                                       outcome, error_message, stack_trace, trigger_source,
                                       triggered_by, retry_of)
            values (:job, :instance, :firedAt, :startedAt,
                    case when :outcome = 'running' then null else now() end, :outcome, :error,
                    :stackTrace, :source, :triggeredBy, :retryOf)
            returning id
            """)
        .param("job", job)
        .param("instance", instance)
        .param("firedAt", Timestamp.from(firedAt))
        .param("startedAt", Timestamp.from(startedAt))
        .param("outcome", outcome)
        .param("error", error)
        .param("stackTrace", stackTrace)
        .param("source", trigger.source())
        .param("triggeredBy", trigger.triggeredBy())
        .param("retryOf", trigger.retryOf())
        .query(Long.class)
        .single();
  }

  public void recordAction(String job, String action, String actor) {
    jdbc.sql("insert into job_action (job_name, action, actor) values (:job, :action, :actor)")
        .param("job", job)
        .param("action", action)
        .param("actor", actor)
        .update();
  }

  /** One execution by its id. */
  public Optional<JobExecution> byId(long id) {
    return jdbc.sql(
            """
            select id, job_name, instance_id, fired_at, started_at, finished_at, outcome,
                   error_message, trigger_source, triggered_by
              from job_execution where id = :id
            """)
        .param("id", id)
        .query(JobExecutionRepository::map)
        .optional();
  }

  public Optional<JobExecution> latest(String job) {
    return recent(job, 1).stream().findFirst();
  }

  public List<JobExecution> recent(String job, int limit) {
    return jdbc.sql(
            """
            select id, job_name, instance_id, fired_at, started_at, finished_at, outcome,
                   error_message, trigger_source, triggered_by
              from job_execution where job_name = :job order by started_at desc, id desc limit :limit
            """)
        .param("job", job)
        .param("limit", limit)
        .query(JobExecutionRepository::map)
        .list();
  }

  public List<JobExecution> recentFailures(Instant since, int limit) {
    return jdbc.sql(
            """
            select id, job_name, instance_id, fired_at, started_at, finished_at, outcome,
                   error_message, trigger_source, triggered_by
              from job_execution where outcome = 'failed' and started_at >= :since
             order by started_at desc limit :limit
            """)
        .param("since", Timestamp.from(since))
        .param("limit", limit)
        .query(JobExecutionRepository::map)
        .list();
  }

  private static JobExecution map(java.sql.ResultSet rs, int row) throws java.sql.SQLException {
    return new JobExecution(
        rs.getLong(1),
        rs.getString(2),
        rs.getString(3),
        instant(rs.getTimestamp(4)),
        instant(rs.getTimestamp(5)),
        instant(rs.getTimestamp(6)),
        rs.getString(7),
        rs.getString(8),
        rs.getString(9),
        rs.getString(10));
  }

  private static Instant instant(Timestamp timestamp) {
    return timestamp == null ? null : timestamp.toInstant();
  }
}
