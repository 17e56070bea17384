package io.quarry.scheduling;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * What each instance has configured for each job ({@code job_schedule_config}, one row per job and
 * Quartz instance id) and the run-time edits ({@code job_schedule_edit}).
 */
@Repository
public class ScheduleRepository {

  /** One instance's configured schedule of a job. */
  public record Configured(String instance, Schedule schedule) {}

  private final JdbcClient jdbc;

  public ScheduleRepository(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * Records this instance's configured schedule of the job. Its {@code since} moves only when the
   * cron or zone changed for this instance; an instance new to the job takes the {@code since} of
   * an instance that already has the same schedule, so a replaced node with the same configuration
   * does not count as a change.
   */
  public void recordConfigured(String job, String instance, String cron, String timeZone) {
    jdbc.sql(
            """
            insert into job_schedule_config (job_name, instance_id, cron, time_zone, since, seen_at)
            values (:job, :instance, :cron, :zone,
                    coalesce((select min(since) from job_schedule_config
                               where job_name = :job and cron = :cron and time_zone = :zone),
                             now()),
                    now())
            on conflict (job_name, instance_id) do update
               set since = case when job_schedule_config.cron = excluded.cron
                                 and job_schedule_config.time_zone = excluded.time_zone
                                then job_schedule_config.since else now() end,
                   cron = excluded.cron,
                   time_zone = excluded.time_zone,
                   seen_at = now()
            """)
        .param("job", job)
        .param("instance", instance)
        .param("cron", cron)
        .param("zone", timeZone)
        .update();
  }

  /**
   * The configured schedules of the job on the instances in the cluster now (checked in with
   * Quartz), and on {@code self}, which may not have checked in yet.
   */
  public List<Configured> live(String job, String self) {
    return jdbc.sql(
            """
            select instance_id, cron, time_zone, since from job_schedule_config
             where job_name = :job
               and (instance_id = :self
                    or instance_id in (select instance_name from qrtz_scheduler_state))
             order by instance_id
            """)
        .param("job", job)
        .param("self", self)
        .query(
            (rs, n) ->
                new Configured(
                    rs.getString(1),
                    new Schedule(
                        rs.getString(2),
                        rs.getString(3),
                        "config",
                        rs.getString(1),
                        rs.getTimestamp(4).toInstant())))
        .list();
  }

  /** The newest configured schedule of the job on any instance, live or not. */
  public Optional<Schedule> newestConfigured(String job) {
    return jdbc.sql(
            """
            select cron, time_zone, instance_id, since from job_schedule_config
             where job_name = :job order by since desc, seen_at desc limit 1
            """)
        .param("job", job)
        .query((rs, n) -> schedule(rs, "config"))
        .optional();
  }

  public Optional<Schedule> edit(String job) {
    return jdbc.sql(
            "select cron, time_zone, edited_by, edited_at from job_schedule_edit where job_name = :job")
        .param("job", job)
        .query((rs, n) -> schedule(rs, "edit"))
        .optional();
  }

  public void saveEdit(String job, String cron, String timeZone, String user) {
    jdbc.sql(
            """
            insert into job_schedule_edit (job_name, cron, time_zone, edited_by, edited_at)
            values (:job, :cron, :zone, :user, now())
            on conflict (job_name) do update
               set cron = excluded.cron, time_zone = excluded.time_zone,
                   edited_by = excluded.edited_by, edited_at = excluded.edited_at
            """)
        .param("job", job)
        .param("cron", cron)
        .param("zone", timeZone)
        .param("user", user)
        .update();
  }

  public void recordAction(String job, String action, String actor, String detail) {
    jdbc.sql(
            """
            insert into job_action (job_name, action, actor, detail)
            values (:job, :action, :actor, :detail)
            """)
        .param("job", job)
        .param("action", action)
        .param("actor", actor)
        .param("detail", detail)
        .update();
  }

  private static Schedule schedule(ResultSet rs, String source) throws SQLException {
    return new Schedule(
        rs.getString(1), rs.getString(2), source, rs.getString(3), rs.getTimestamp(4).toInstant());
  }
}
