package io.quarry.maintenance;

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

  /** Who ran it and why. */
  public record Trigger(String source, String triggeredBy) {
    public static final Trigger SCHEDULE = new Trigger("schedule", null);

    public static Trigger manual(String user) {
      return new Trigger("manual", user);
    }
  }

  private final JdbcClient jdbc;

  public JobExecutionRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  public long recordSucceeded(
      String job, String instance, Instant firedAt, Instant startedAt, Trigger trigger) {
    return insert(job, instance, firedAt, startedAt, trigger, "succeeded", null, null);
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
                                       outcome, error_message, stack_trace, trigger_source, triggered_by)
            values (:job, :instance, :firedAt, :startedAt, now(), :outcome, :error, :stackTrace,
                    :source, :triggeredBy)
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
