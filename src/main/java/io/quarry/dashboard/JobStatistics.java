package io.quarry.dashboard;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * Per-job statistics over time, as Hangfire's and JobRunr's dashboards show them: runs, failures,
 * success rate and duration per hour or day, for the maintenance jobs ({@code job_execution}) and
 * the stream schedulers ({@code scheduler_run}). Buckets are aligned to UTC; a bucket without runs
 * is reported with zeros so that a chart has no gaps.
 */
@Repository
public class JobStatistics {

  /** One bucket of one job. Durations only of finished runs; null when none finished. */
  public record Bucket(
      Instant start,
      long runs,
      long succeeded,
      long failed,
      Double avgDurationMillis,
      Double maxDurationMillis) {}

  /**
   * One job over the whole period: totals, the success rate of its finished runs (null without
   * any), the average and 95th percentile duration, and its buckets oldest first.
   */
  public record JobStats(
      String name,
      String kind,
      long runs,
      long succeeded,
      long failed,
      long running,
      Double successRate,
      Double avgDurationMillis,
      Double p95DurationMillis,
      List<Bucket> buckets) {}

  /** The statistics of every job from {@code from} (a bucket boundary) to {@code to}. */
  public record Statistics(Instant from, Instant to, Duration bucket, List<JobStats> jobs) {}

  private record Row(
      String name,
      String kind,
      Instant bucket,
      long runs,
      long succeeded,
      long failed,
      long running,
      Double avgMillis,
      Double maxMillis,
      Double p95Millis) {}

  private final JdbcClient jdbc;

  public JobStatistics(JdbcClient jdbc) {
    this.jdbc = jdbc;
  }

  /**
   * @param names the jobs to report even without runs: name to kind ({@code job} or {@code
   *     stream}), in the order to show them
   * @param days how many days back from {@code now}
   * @param bucket one hour or one day
   * @param name only this job, or null for all
   */
  public Statistics read(
      Map<String, String> names, Instant now, int days, Duration bucket, String name) {
    long size = bucket.getSeconds();
    Instant to = Instant.ofEpochSecond(Math.floorDiv(now.getEpochSecond(), size) * size + size);
    Instant from = to.minus(Duration.ofDays(days));
    List<Row> rows =
        jdbc.sql(
                """
                with runs as (
                  select job_name as name, 'job' as kind, started_at, finished_at, outcome
                    from job_execution where started_at >= :from and started_at < :to
                  union all
                  select stream || '-scheduler', 'stream', started_at, finished_at, outcome
                    from scheduler_run where started_at >= :from and started_at < :to
                ), timed as (
                  select name, kind, outcome,
                         date_bin(make_interval(secs => :size), started_at,
                                  timestamptz '1970-01-01 00:00:00+00') as bucket,
                         (extract(epoch from finished_at - started_at) * 1000)::float8 as millis
                    from runs where (cast(:name as text) is null or name = :name)
                )
                select name, kind, bucket, count(*) as runs,
                       count(*) filter (where outcome = 'succeeded') as succeeded,
                       count(*) filter (where outcome = 'failed') as failed,
                       count(*) filter (where outcome = 'running') as running,
                       avg(millis) as avg_millis, max(millis) as max_millis,
                       percentile_cont(0.95) within group (order by millis) as p95_millis
                  from timed group by grouping sets ((name, kind, bucket), (name, kind))
                 order by name, bucket nulls first
                """)
            .param("from", Timestamp.from(from))
            .param("to", Timestamp.from(to))
            .param("size", (double) size)
            .param("name", name)
            .query(
                (rs, n) -> {
                  Timestamp start = rs.getTimestamp("bucket");
                  return new Row(
                      rs.getString("name"),
                      rs.getString("kind"),
                      start == null ? null : start.toInstant(),
                      rs.getLong("runs"),
                      rs.getLong("succeeded"),
                      rs.getLong("failed"),
                      rs.getLong("running"),
                      (Double) rs.getObject("avg_millis", Double.class),
                      (Double) rs.getObject("max_millis", Double.class),
                      (Double) rs.getObject("p95_millis", Double.class));
                })
            .list();

    Map<String, String> kinds = new LinkedHashMap<>();
    names.forEach(
        (job, kind) -> {
          if (name == null || name.equals(job)) {
            kinds.put(job, kind);
          }
        });
    rows.forEach(r -> kinds.putIfAbsent(r.name(), r.kind()));
    List<JobStats> jobs = new ArrayList<>();
    kinds.forEach(
        (job, kind) -> {
          Row total = null;
          Map<Instant, Row> byBucket = new LinkedHashMap<>();
          for (Row r : rows) {
            if (r.name().equals(job)) {
              if (r.bucket() == null) {
                total = r;
              } else {
                byBucket.put(r.bucket(), r);
              }
            }
          }
          List<Bucket> buckets = new ArrayList<>();
          for (Instant at = from; at.isBefore(to); at = at.plus(bucket)) {
            Row r = byBucket.get(at);
            buckets.add(
                r == null
                    ? new Bucket(at, 0, 0, 0, null, null)
                    : new Bucket(
                        at, r.runs(), r.succeeded(), r.failed(), r.avgMillis(), r.maxMillis()));
          }
          long finished = total == null ? 0 : total.succeeded() + total.failed();
          jobs.add(
              new JobStats(
                  job,
                  kind,
                  total == null ? 0 : total.runs(),
                  total == null ? 0 : total.succeeded(),
                  total == null ? 0 : total.failed(),
                  total == null ? 0 : total.running(),
                  finished == 0 ? null : (double) total.succeeded() / finished,
                  total == null ? null : total.avgMillis(),
                  total == null ? null : total.p95Millis(),
                  List.copyOf(buckets)));
        });
    return new Statistics(from, to, bucket, List.copyOf(jobs));
  }
}
