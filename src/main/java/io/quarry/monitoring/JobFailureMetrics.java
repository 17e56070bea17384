package io.quarry.monitoring;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarry.config.QuarryProperties;
import io.quarry.maintenance.MaintenanceJobs;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * {@code quarry.job.failed.runs.last.hour}: the failed runs of each maintenance job ({@code kind}
 * maintenance) and stream scheduler ({@code kind} stream, job {@code <stream>-scheduler}) that
 * started in the last hour, read from {@code job_execution} and {@code scheduler_run}. Unlike the
 * counters, which start from nothing in a new process, it keeps a failure visible after the
 * instance that ran it restarted, and every instance reports the same figure (alert rules take the
 * max). Read at most every ten seconds however often it is scraped.
 */
@Component
public class JobFailureMetrics {

  static final String NAME = "quarry.job.failed.runs.last.hour";
  private static final Duration WINDOW = Duration.ofHours(1);
  private static final Duration MAX_STALENESS = Duration.ofSeconds(10);

  private final JdbcClient jdbc;
  private final Clock clock;
  private final Recent<Map<String, Long>> failures = new Recent<>(MAX_STALENESS, this::read);

  public JobFailureMetrics(
      JdbcClient jdbc,
      MaintenanceJobs jobs,
      QuarryProperties properties,
      MeterRegistry registry,
      Clock clock) {
    this.jdbc = jdbc;
    this.clock = clock;
    jobs.all().forEach(job -> register(registry, job.name(), "maintenance"));
    properties
        .streams()
        .keySet()
        .forEach(stream -> register(registry, stream + "-scheduler", "stream"));
  }

  private void register(MeterRegistry registry, String job, String kind) {
    Gauge.builder(NAME, this, m -> m.failures.get().getOrDefault(job, 0L))
        .description("Runs of the job that failed in the last hour, read from the database")
        .tag("job", job)
        .tag("kind", kind)
        .register(registry);
  }

  /** The failed runs of the last hour by job name, as the gauges report them. */
  public Map<String, Long> failures() {
    return failures.get();
  }

  private Map<String, Long> read() {
    Map<String, Long> failed = new HashMap<>();
    jdbc.sql(
            """
            select job_name, count(*) from job_execution
             where outcome = 'failed' and started_at >= :since group by job_name
            union all
            select stream || '-scheduler', count(*) from scheduler_run
             where outcome = 'failed' and started_at >= :since group by stream
            """)
        .param("since", Timestamp.from(clock.instant().minus(WINDOW)))
        .query((rs, n) -> failed.merge(rs.getString(1), rs.getLong(2), Long::sum))
        .list();
    return Map.copyOf(failed);
  }
}
